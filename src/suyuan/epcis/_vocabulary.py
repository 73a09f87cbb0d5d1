"""Our event catalogue in EPCIS 2.0 terms (docs/epcis.md "Mapping").

Each event type is one EPCIS event type and action; the envelope's ``biz_step`` and
``disposition`` are CBV 2.0 names already and are carried as they were signed (never a default
the organisation did not say). Units of quantity map to UN/ECE Recommendation 20 codes, the
``uom`` of an EPCIS quantity; a unit with no such code (剂, a dose) is kept only in our extension.
"""

from __future__ import annotations

OBJECT = "ObjectEvent"
AGGREGATION = "AggregationEvent"
TRANSFORMATION = "TransformationEvent"
ADD = "ADD"
OBSERVE = "OBSERVE"
DELETE = "DELETE"

#: Event type → (EPCIS event type, action); a TransformationEvent has no action.
EVENT_TYPES: dict[str, tuple[str, str | None]] = {
    "CertificateIssued": (OBJECT, ADD),
    "CertificateVoided": (OBJECT, OBSERVE),
    "InspectionRecorded": (OBJECT, OBSERVE),
    "AnimalQuarantineCertified": (OBJECT, OBSERVE),
    "MeatQualityInspected": (OBJECT, OBSERVE),
    "Transformed": (TRANSFORMATION, None),
    "Aggregated": (AGGREGATION, ADD),
    "Disaggregated": (AGGREGATION, DELETE),
    "Shipped": (OBJECT, OBSERVE),
    "Received": (OBJECT, OBSERVE),
    "Stored": (OBJECT, OBSERVE),
    "Released": (OBJECT, OBSERVE),
    "Disinfected": (OBJECT, OBSERVE),
    "TemperatureRecorded": (OBJECT, OBSERVE),
    "ImportDeclared": (OBJECT, OBSERVE),
    "ColdChainCodesAssigned": (OBJECT, ADD),
    "Sold": (OBJECT, OBSERVE),
    "Dispensed": (OBJECT, OBSERVE),
    "VaccineLotReleased": (OBJECT, OBSERVE),
    "VaccineAdministered": (OBJECT, OBSERVE),
    "AdverseEventReported": (OBJECT, OBSERVE),
    "Destroyed": (OBJECT, OBSERVE),
    "RecallInitiated": (OBJECT, OBSERVE),
    "RecallAcknowledged": (OBJECT, OBSERVE),
    "RecallClosed": (OBJECT, OBSERVE),
}

#: Events after which the goods are no longer at the place they happened: a readPoint, no
#: bizLocation (EPCIS: the business location is where the goods are expected to be next).
LEAVING_TYPES = frozenset({"Shipped", "Sold", "Dispensed", "VaccineAdministered", "Destroyed"})

#: Our units → UN/ECE Recommendation 20 common codes.
UNITS: dict[str, str] = {
    "kg": "KGM",
    "千克": "KGM",
    "公斤": "KGM",
    "g": "GRM",
    "克": "GRM",
    "t": "TNE",
    "吨": "TNE",
    "L": "LTR",
    "升": "LTR",
    "头": "H87",  # head of livestock: counted as pieces
    "只": "H87",
    "个": "H87",
    "件": "H87",
    "箱": "CS",
    "盒": "BX",
    "袋": "BG",
    "瓶": "BO",
    "支": "VI",
}

#: Payload fields naming a document that certifies the goods: (field, the document's name, who
#: issued it: a payload field, ``ACTOR`` for the event's actor, or ``None`` when not recorded).
#: ``gs1:certificationInfo`` lists them (GS1 Web Vocabulary, CertificationDetails).
ACTOR = "@actor"
CERTIFICATIONS: dict[str, tuple[tuple[str, str, str | None], ...]] = {
    "AnimalQuarantineCertified": (("certificate_no", "动物检疫合格证明", "issuing_authority"),),
    "MeatQualityInspected": (("certificate_no", "肉品品质检验合格证", ACTOR),),
    "VaccineLotReleased": (("release_certificate_no", "生物制品批签发证明", "release_authority"),),
    "Disinfected": (("certificate_no", "消毒证明", None),),
    "Released": (("release_certificate_no", "出仓证明", ACTOR),),
    "InspectionRecorded": (("report_no", "检测报告", "lab"),),
    "ImportDeclared": (
        ("quarantine_certificate", "入境货物检验检疫证明", None),
        ("nucleic_acid_test", "核酸检测证明", None),
        ("disinfection_certificate", "消毒证明", None),
    ),
}
