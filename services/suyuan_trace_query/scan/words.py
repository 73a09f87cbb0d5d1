"""The scan page's words in Chinese and English, and the display words of each vocabulary
(docs/scan-page.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from suyuan.label import (
    BASIS_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    ISSUER_TYPE_NAMES_ZH,
)
from suyuan_http import answer_language

LANGUAGES = ("zh", "en")
_CHINA = timedelta(hours=8)

# --- words ---------------------------------------------------------------------------------------

TEXTS: dict[str, dict[str, str]] = {
    "zh": {
        "html_lang": "zh-CN",
        "colon": "：",
        "lparen": "（",
        "rparen": "）",
        "list_sep": "、",
        "comma": "，",
        "site": "溯源 · 扫码查询",
        "switch_label": "English",
        "switch_lang": "en",
        "switch_html_lang": "en",
        "code": "追溯码",
        "kind_cert": "承诺达标合格证码",
        "kind_gs1": "商品条码（GS1）",
        "kind_drug": "药品追溯码",
        "recall_by": "召回发起",
        "expired_on": "有效期至",
        "replacement": "新合格证：",
        "reason": "原因",
        "product": "产品",
        "name": "名称",
        "category": "类别",
        "origin": "产地",
        "producer": "生产主体",
        "importer": "进口商",
        "place": "地点",
        "country": "原产国",
        "certificates": "承诺达标合格证",
        "issuer": "开具主体",
        "issuer_type": "主体类型",
        "commitment": "承诺声明",
        "basis": "承诺依据",
        "issue_date": "开具日期",
        "quantity": "数量（重量）",
        "upstream": "上游合格证",
        "this_code": "本码",
        "void_mark": "已作废",
        "label_link": "合格证标签（可打印）",
        "inspections": "检测结果",
        "no_inspections": "暂无检测记录。",
        "kind": "检测类型",
        "tested_by": "检测单位",
        "self_test": "自检：持有者自行记录，非检测机构或监管部门上报",
        "lab": "实验室",
        "item": "项目",
        "value": "结果",
        "limit": "限量",
        "required": "要求",
        "notes": "说明",
        "standard": "标准",
        "passed": "合格",
        "failed": "不合格",
        "negative": "阴性",
        "documents": "证明文件",
        "form": "证明类型",
        "species": "品种",
        "route": "启运地 → 到达地",
        "authority": "签发机构",
        "number": "编号",
        "batch": "批次",
        "production_date": "生产日期",
        "shelf_life": "保质期",
        "days": "天",
        "three_certificates": "三证",
        "timeline": "流转记录",
        "no_timeline": "暂无流转记录。",
        "temperature": "温度记录",
        "allowed": "允许范围",
        "on_ledger": "已上链",
        "on_ledger_title": "已记录在防篡改账本，点击查看存证回执",
        "ledger_note": "页面上每条记录都已写入防篡改的哈希链账本；"
        "点击「已上链」可查看该记录的存证回执。",
        "check_verified": "已在浏览器中验证：本页 {n} 条记录都在账本（密钥 {key}）签名的树中。",
        "check_some_pending": "另有 {n} 条尚待账本检查点。",
        "check_witnessed": "检查点已由 {n} 个独立见证方共同签署。",
        "check_unwitnessed": "账本签名有效，但检查点缺少足够的见证方签署："
        "无法排除账本向不同的人展示不同的记录。",
        "check_failed": "浏览器验证失败：账本证明与签名不符。请勿信任本页，并向市场监管部门报告。",
        "check_unable": "此浏览器无法自行验证账本签名。",
        "check_pending": "本页记录尚未被账本检查点覆盖，稍后刷新即可在浏览器中验证。",
        "qr_valid": "二维码签名有效：合格证内容由{org}的登记密钥签署，与账本一致。",
        "qr_malformed": "二维码签名无法识别：标签可能被改动或伪造。",
        "qr_bad_signature": "二维码签名无效：标签上的内容被改动或伪造，"
        "请勿购买，并向市场监管部门报告。",
        "qr_revoked": "二维码签名所用的密钥已被吊销：请谨慎对待，向销售者或市场监管部门核实。",
        "qr_wrong_key": "二维码签名不是开具者的密钥：标签可能是伪造的。",
        "qr_other_code": "此二维码签的是另一张合格证（{code}），不是本码："
        "标签可能被复制到别的商品上。",
        "qr_differs": "二维码签名的内容与账本中的合格证不一致：标签可能被改动。",
        "not_found_title": "未找到该追溯码",
        "not_found_body": "该码格式正确，但账本中还没有它的记录。"
        "请核对包装上的码，或向销售者咨询。",
        "bad_code_title": "追溯码格式有误",
        "bad_code_body": "无法识别这个码。请重新扫描包装上的二维码，或检查手动输入是否完整。",
        "what_is_wrong": "具体问题",
        "you_sent": "收到的内容",
        "unavailable_title": "服务暂时不可用",
        "unavailable_body": "查询服务暂时无法读取账本，请稍后再试。",
        "no_label_title": "没有可打印的合格证",
        "no_label_body": "账本中没有以该码开具的承诺达标合格证。",
        "bad_label_option_title": "标签参数有误",
        "bad_label_option_body": "请选择列出的标签尺寸、份数或分辨率。",
        "unknown": "未登记主体",
        "partner": "流通环节经营者（不公开）",
        "partial_title": "仅显示部分记录",
        "partial_body": "这个码的来源记录太多，此处只显示离它最近的一部分；"
        "上面的状态只依据这些记录。监管部门可查看全部记录。",
        "busy_title": "查询繁忙",
        "busy_body": "同时查询的人太多，请几秒后再试。",
    },
    "en": {
        "html_lang": "en",
        "colon": ": ",
        "lparen": " (",
        "rparen": ")",
        "list_sep": ", ",
        "comma": ", ",
        "site": "Suyuan · Scan result",
        "switch_label": "中文",
        "switch_lang": "zh",
        "switch_html_lang": "zh-CN",
        "code": "Trace code",
        "kind_cert": "Compliance certificate code",
        "kind_gs1": "Product barcode (GS1)",
        "kind_drug": "Drug trace code",
        "recall_by": "Recall started by",
        "expired_on": "expired on",
        "replacement": "New certificate:",
        "reason": "Reason",
        "product": "Product",
        "name": "Name",
        "category": "Category",
        "origin": "Origin",
        "producer": "Producer",
        "importer": "Importer",
        "place": "Place",
        "country": "Country of origin",
        "certificates": "Compliance certificates (承诺达标合格证)",
        "issuer": "Issued by",
        "issuer_type": "Issuer type",
        "commitment": "Commitment",
        "basis": "Basis",
        "issue_date": "Issue date",
        "quantity": "Quantity",
        "upstream": "Upstream certificates",
        "this_code": "this code",
        "void_mark": "VOIDED",
        "label_link": "Printable certificate label",
        "inspections": "Test results",
        "no_inspections": "No test on record.",
        "kind": "Test",
        "tested_by": "Tested by",
        "self_test": "self-test: recorded by the holder, not by a testing body or regulator",
        "lab": "Laboratory",
        "item": "Item",
        "value": "Result",
        "limit": "Limit",
        "required": "required",
        "notes": "Note",
        "standard": "Standard",
        "passed": "Pass",
        "failed": "Fail",
        "negative": "Negative",
        "documents": "Documents",
        "form": "Form",
        "species": "Species",
        "route": "From → to",
        "authority": "Issued by",
        "number": "Number",
        "batch": "Batch",
        "production_date": "Production date",
        "shelf_life": "Shelf life",
        "days": "days",
        "three_certificates": "Three certificates",
        "timeline": "Where it has been",
        "no_timeline": "No movement on record.",
        "temperature": "Temperature record",
        "allowed": "Allowed range",
        "on_ledger": "On the ledger",
        "on_ledger_title": "Recorded on the tamper-evident ledger: open its proof receipt",
        "ledger_note": "Every record on this page is in a tamper-evident, hash-chained ledger; "
        "“On the ledger” opens the record's proof receipt.",
        "check_verified": "Verified in this browser: the {n} records on this page are in the "
        "tree the ledger (key {key}) signed.",
        "check_some_pending": "{n} more await the ledger's next checkpoint.",
        "check_witnessed": "The checkpoints are cosigned by {n} independent witnesses.",
        "check_unwitnessed": "The ledger's signatures hold, but too few witnesses cosigned its "
        "checkpoint: it could be showing different records to different people.",
        "check_failed": "Browser check FAILED: the ledger's proofs do not match its signature. "
        "Do not trust this page; report it to the market regulator.",
        "check_unable": "This browser cannot check the ledger's signature itself.",
        "check_pending": "The records are not yet covered by a ledger checkpoint; reload soon to "
        "check them in this browser.",
        "qr_valid": "QR signature valid: the certificate was signed with {org}'s registered key "
        "and matches the ledger.",
        "qr_malformed": "The QR signature cannot be read: the label may be altered or forged.",
        "qr_bad_signature": "QR signature INVALID: what the label says was altered or forged. "
        "Do not buy; report it to the market regulator.",
        "qr_revoked": "The QR was signed with a key that has been revoked: check with the seller "
        "or the market regulator.",
        "qr_wrong_key": "The QR was not signed with the issuer's key: the label may be forged.",
        "qr_other_code": "This QR is signed for another certificate ({code}), not this code: the "
        "label may have been copied onto other goods.",
        "qr_differs": "What the QR signed differs from the ledger's certificate: the label may "
        "have been altered.",
        "not_found_title": "Trace code not found",
        "not_found_body": "The code is well-formed, but the ledger has no record of it yet. Check "
        "the code on the packaging, or ask the seller.",
        "bad_code_title": "This is not a valid trace code",
        "bad_code_body": "The code could not be read. Scan the QR code on the packaging again, or "
        "check that what you typed is complete.",
        "what_is_wrong": "What is wrong",
        "you_sent": "What we received",
        "unavailable_title": "Service unavailable",
        "unavailable_body": "The ledger cannot be read right now. Please try again later.",
        "no_label_title": "No printable certificate",
        "no_label_body": "The ledger holds no compliance certificate issued under this code.",
        "bad_label_option_title": "Label options not accepted",
        "bad_label_option_body": "Choose one of the listed label sizes, copies or resolutions.",
        "unknown": "unregistered organisation",
        "partner": "a trader in the chain (not public)",
        "partial_title": "Only part of the record is shown",
        "partial_body": "This code has too many records to show here: only those nearest to it "
        "are shown, and the status above rests on them alone. Regulators can see all of them.",
        "busy_title": "Too busy",
        "busy_body": "Too many people are looking codes up at once. Please try again in a few "
        "seconds.",
    },
}

# Vocabularies: Chinese from suyuan.label (shared with the printed label), English here.
VOCABULARY: dict[str, dict[str, dict[str, str]]] = {
    "event": {
        "zh": {
            "Shipped": "发货",
            "Received": "收货",
            "Stored": "入库",
            "Released": "出库",
            "Disinfected": "消毒",
            "Sold": "销售",
            "Dispensed": "药品调剂",
            "VaccineAdministered": "接种",
            "Destroyed": "销毁",
            "Aggregated": "装箱",
            "Disaggregated": "拆箱",
            "Transformed": "加工",
            "CertificateIssued": "开具合格证",
            "ImportDeclared": "进口申报",
            "ColdChainCodesAssigned": "冷链赋码",
            "VaccineLotReleased": "疫苗批签发",
        },
        "en": {
            "Shipped": "Shipped",
            "Received": "Received",
            "Stored": "Stored",
            "Released": "Taken out of store",
            "Disinfected": "Disinfected",
            "Sold": "Sold",
            "Dispensed": "Dispensed",
            "VaccineAdministered": "Administered",
            "Destroyed": "Destroyed",
            "Aggregated": "Packed",
            "Disaggregated": "Unpacked",
            "Transformed": "Processed",
            "CertificateIssued": "Certificate issued",
            "ImportDeclared": "Import declared",
            "ColdChainCodesAssigned": "Cold-chain codes assigned",
            "VaccineLotReleased": "Vaccine lot released",
        },
    },
    "category": {
        "zh": CATEGORY_NAMES_ZH,
        "en": {
            "VEGETABLES": "Vegetables",
            "FRUIT": "Fruit",
            "TEA": "Tea",
            "LIVESTOCK": "Livestock",
            "POULTRY": "Poultry",
            "EGGS": "Eggs",
            "AQUATIC": "Aquatic products",
        },
    },
    "basis": {
        "zh": BASIS_NAMES_ZH,
        "en": {
            "QUALITY_CONTROL": "Quality and safety controls met",
            "SELF_TESTED": "Passed the producer's own test",
            "COMMISSIONED_TESTED": "Passed a commissioned laboratory test",
        },
    },
    "issuer_type": {
        "zh": ISSUER_TYPE_NAMES_ZH,
        "en": {"PRODUCER": "Producer", "PURCHASER": "Purchaser"},
    },
    "inspection": {
        "zh": {
            "SELF": "自行检测",
            "COMMISSIONED_LAB": "委托检测",
            "OFFICIAL_SAMPLING": "监督抽检",
            "RAPID_TEST": "快速检测",
            "NUCLEIC_ACID": "核酸检测",
        },
        "en": {
            "SELF": "Own test",
            "COMMISSIONED_LAB": "Commissioned laboratory test",
            "OFFICIAL_SAMPLING": "Official sampling",
            "RAPID_TEST": "Rapid test",
            "NUCLEIC_ACID": "Nucleic-acid test",
        },
    },
    "document": {
        "zh": {
            "AnimalQuarantineCertified": "动物检疫合格证明",
            "MeatQualityInspected": "肉品品质检验合格证",
            "ImportDeclared": "进口冷链食品申报",
            "quarantine_certificate": "入境货物检验检疫证明",
            "nucleic_acid_test": "核酸检测证明",
            "disinfection_certificate": "消毒证明",
        },
        "en": {
            "AnimalQuarantineCertified": "Animal quarantine certificate",
            "MeatQualityInspected": "Meat quality inspection certificate",
            "ImportDeclared": "Imported cold-chain food declaration",
            "quarantine_certificate": "Entry inspection and quarantine certificate",
            "nucleic_acid_test": "Nucleic-acid test certificate",
            "disinfection_certificate": "Disinfection certificate",
        },
    },
    "form": {
        "zh": {
            "ANIMAL_A": "动物A证",
            "ANIMAL_B": "动物B证",
            "PRODUCT_A": "产品A证",
            "PRODUCT_B": "产品B证",
        },
        "en": {
            "ANIMAL_A": "Animals, form A",
            "ANIMAL_B": "Animals, form B",
            "PRODUCT_A": "Animal products, form A",
            "PRODUCT_B": "Animal products, form B",
        },
    },
    "facility": {
        "zh": {"COLD_STORE": "冷库", "SUPERVISED_WAREHOUSE": "集中监管仓", "WAREHOUSE": "仓库"},
        "en": {
            "COLD_STORE": "cold store",
            "SUPERVISED_WAREHOUSE": "supervised warehouse",
            "WAREHOUSE": "warehouse",
        },
    },
    "channel": {
        "zh": {"RETAIL": "零售", "WHOLESALE": "批发", "ONLINE": "网络销售", "CATERING": "餐饮"},
        "en": {
            "RETAIL": "retail",
            "WHOLESALE": "wholesale",
            "ONLINE": "online",
            "CATERING": "catering",
        },
    },
    "process": {
        "zh": {
            "SLAUGHTER": "屠宰",
            "CUTTING": "分割",
            "PROCESSING": "加工",
            "REPACKING": "分装",
            "MIXING": "混合",
        },
        "en": {
            "SLAUGHTER": "slaughter",
            "CUTTING": "cutting",
            "PROCESSING": "processing",
            "REPACKING": "repacking",
            "MIXING": "mixing",
        },
    },
    "recall_level": {
        "zh": {"LEVEL_1": "一级召回", "LEVEL_2": "二级召回", "LEVEL_3": "三级召回"},
        "en": {
            "LEVEL_1": "level 1 recall",
            "LEVEL_2": "level 2 recall",
            "LEVEL_3": "level 3 recall",
        },
    },
    "target": {
        "zh": {
            "OUTER_PACKAGING": "外包装",
            "CONTAINER": "集装箱",
            "VEHICLE": "运输车辆",
            "PREMISES": "场所",
        },
        "en": {
            "OUTER_PACKAGING": "outer packaging",
            "CONTAINER": "container",
            "VEHICLE": "vehicle",
            "PREMISES": "premises",
        },
    },
}
# Countries that ship most imported cold-chain food; others are shown by their ISO code.
_COUNTRIES = {
    "AR": ("阿根廷", "Argentina"),
    "AU": ("澳大利亚", "Australia"),
    "BR": ("巴西", "Brazil"),
    "CA": ("加拿大", "Canada"),
    "CL": ("智利", "Chile"),
    "DE": ("德国", "Germany"),
    "DK": ("丹麦", "Denmark"),
    "EC": ("厄瓜多尔", "Ecuador"),
    "ES": ("西班牙", "Spain"),
    "FR": ("法国", "France"),
    "GB": ("英国", "United Kingdom"),
    "ID": ("印度尼西亚", "Indonesia"),
    "IE": ("爱尔兰", "Ireland"),
    "IN": ("印度", "India"),
    "IS": ("冰岛", "Iceland"),
    "JP": ("日本", "Japan"),
    "MY": ("马来西亚", "Malaysia"),
    "NL": ("荷兰", "Netherlands"),
    "NO": ("挪威", "Norway"),
    "NZ": ("新西兰", "New Zealand"),
    "PE": ("秘鲁", "Peru"),
    "RU": ("俄罗斯", "Russia"),
    "TH": ("泰国", "Thailand"),
    "US": ("美国", "United States"),
    "UY": ("乌拉圭", "Uruguay"),
    "VN": ("越南", "Viet Nam"),
}
VOCABULARY["country"] = {
    "zh": {code: f"{zh}（{code}）" for code, (zh, _en) in _COUNTRIES.items()},
    "en": {code: f"{en} ({code})" for code, (_zh, en) in _COUNTRIES.items()},
}


def pick_language(lang: str | None) -> str:
    """``en`` (any ``en…`` spelling) or ``zh`` for a ``?lang=`` given; without one, what the
    request's ``Accept-Language`` prefers, else ``zh`` (:func:`suyuan_http.answer_language`:
    the page is marked with ``Content-Language`` and ``Vary: Accept-Language``)."""
    return answer_language(lang)


def word(lang: str, vocabulary: str, value: Any) -> str:
    """The display word of a vocabulary value; unknown values are shown as they are."""
    text = "" if value is None else str(value)
    return VOCABULARY[vocabulary][lang].get(text, text)


def when_text(at: datetime) -> str:
    """``2026-05-06 07:10`` in the zone it happened in; the offset is named when not China's."""
    text = at.strftime("%Y-%m-%d %H:%M")
    offset = at.utcoffset()
    if offset is not None and offset != _CHINA:
        text += " UTC" + at.strftime("%z")[:3] + ":" + at.strftime("%z")[3:]
    return text
