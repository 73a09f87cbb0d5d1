"""The consumer scan page: what a person sees after scanning the QR code on packaging.

Design §1 (consumers), §7 (trace), §8 (``GET /c/{code}``); user documentation in
``docs/scan-page.md``.

- ``GET /c/{code}`` — server-rendered HTML, mobile first, Chinese first (``?lang=en`` for
  English), no JavaScript: status banner (recalled / frozen / voided in red, ok in green), the
  product and its origin, its 承诺达标合格证, test results, documents, the custody timeline, the
  temperature record as an inline SVG chart, and a "recorded on the ledger" badge per event
  linking to its proof receipt.
- ``GET /c/{code}/label.svg`` — the printable 合格证 label of a certificate code; with the
  issuer's producer token it prints the 联系方式, as the paper certificate does;
  ``label.pdf`` (``?size=60x40&copies=N``: one label per page) and ``label.png``
  (``?size=&dpi=``) are the same label for label printers (``docs/labels.md``).

Only the public view is shown: payloads go through :func:`suyuan.trace.public_payload`, and the
page names no recipient, waybill, receipt, contact, price, quantity or trading partner. The trace
is the budgeted public one (a note says when it is partial); when too many are being worked on
the page answers 503 at once. A malformed code gets a friendly 400
page saying what is wrong, an unknown one a friendly 404 page; Jinja2 autoescapes every value.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import jinja2
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import SQLAlchemyError

from suyuan.auth import Principal, Role
from suyuan.codes import CodeKind, is_valid_certificate_code, scan_url
from suyuan.custody import CustodyError, load_custodial_key
from suyuan.errors import CodeError, RevokedKeyError, SignatureError, WrongSignerError
from suyuan.label import (
    BASIS_NAMES_ZH,
    CATEGORY_NAMES_ZH,
    ISSUER_TYPE_NAMES_ZH,
    CertificateLabel,
    certificate_label,
    label_svg,
)
from suyuan.label_print import (
    DEFAULT_DPI,
    DEFAULT_SIZE,
    LABEL_SIZES,
    MAX_COPIES,
    PNG_DPI,
    LabelFontError,
    label_pdf,
    label_png,
)
from suyuan.qrsign import (
    MAX_QR_LENGTH,
    QR_PARAMETER,
    QrClaim,
    QrError,
    claim_of,
    verify_qr,
)
from suyuan.signing import SigningKey
from suyuan.trace import Trace, TracedEvent, public_payload
from suyuan.verdict import CONSUMER, REPLACED, Finding
from suyuan_http import ApiError, answer_language, checked_token

from ._deps import QueryContext

log = logging.getLogger("suyuan.trace_query.pages")

router = APIRouter(tags=["scan page"])
# Autoescape every template (not only by file name) and fail loudly on a misspelt variable.
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
)

LANGUAGES = ("zh", "en")
SVG_TYPE = "image/svg+xml"
# Nothing remote: plain HTML with inline CSS and inline SVG, and one script of this service
# that checks the page's proofs (the page works without it).
_PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "script-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    # A recall can start at any minute: never show a stale page.
    "Cache-Control": "no-cache",
}
_CHINA = timedelta(hours=8)

QrQuery = Annotated[
    str | None,
    Query(
        max_length=MAX_QR_LENGTH,
        description="A certificate's signed QR value (docs/verification.md, signed QR codes).",
    ),
]
LangQuery = Annotated[
    str | None,
    Query(description="`en` for English; anything else (or nothing) shows Chinese (zh-CN)."),
]

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


# --- routes --------------------------------------------------------------------------------------


_LABEL_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"content": {"text/html": {}}, "description": "Not a certificate code."},
    404: {"content": {"text/html": {}}, "description": "No certificate under this code."},
    503: {
        "content": {"text/html": {}},
        "description": "Too busy (Retry-After) or unavailable (also: no CJK font for PDF/PNG).",
    },
}
_PRINT_ERRORS: dict[int | str, dict[str, Any]] = {
    **_LABEL_ERRORS,
    422: {"content": {"text/html": {}}, "description": "An unknown size, copies or dpi."},
}
SizeQuery = Annotated[
    str | None,
    Query(description=f"Label size in mm: {', '.join(LABEL_SIZES)} (default {DEFAULT_SIZE})."),
]


@router.get(
    "/c/{code:path}/label.svg",
    response_class=Response,
    responses={
        200: {"content": {SVG_TYPE: {}}, "description": "The printable 合格证 label (SVG)."},
        **_LABEL_ERRORS,
    },
    summary="Printable 承诺达标合格证 label of a certificate code",
)
def certificate_label_svg(request: Request, code: str, lang: LangQuery = None) -> Response:
    return label_response(request, code, pick_language(lang), _token_principal(request), "svg")


@router.get(
    "/c/{code:path}/label.pdf",
    response_class=Response,
    responses={
        200: {
            "content": {"application/pdf": {}},
            "description": "The 合格证 label as a PDF, one label per page, the CJK font embedded.",
        },
        **_PRINT_ERRORS,
    },
    summary="Printable 合格证 label as PDF (label sizes; N copies)",
)
def certificate_label_pdf(
    request: Request,
    code: str,
    lang: LangQuery = None,
    size: SizeQuery = None,
    copies: Annotated[
        str | None, Query(description=f"Labels (pages), 1 to {MAX_COPIES}; default 1.")
    ] = None,
) -> Response:
    principal = _token_principal(request)
    return label_response(request, code, pick_language(lang), principal, "pdf", size, copies)


@router.get(
    "/c/{code:path}/label.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "The 合格证 label as a PNG."},
        **_PRINT_ERRORS,
    },
    summary="Printable 合格证 label as PNG (label sizes, printer resolutions)",
)
def certificate_label_png(
    request: Request,
    code: str,
    lang: LangQuery = None,
    size: SizeQuery = None,
    dpi: Annotated[
        str | None,
        Query(description=f"Dots per inch: {', '.join(str(d) for d in PNG_DPI)}; default 300."),
    ] = None,
) -> Response:
    principal = _token_principal(request)
    return label_response(request, code, pick_language(lang), principal, "png", size, dpi)


def label_response(
    request: Request,
    code: str,
    language: str,
    principal: Principal | None,
    extension: str,
    size: str | None = None,
    count: str | None = None,
) -> Response:
    """The label of ``code`` as ``svg``, ``pdf`` (``count`` copies) or ``png`` (``count`` dpi)
    for ``principal`` (the issuer's prints the 联系方式), or the page saying why not. The label
    routes and the console's both answer with it."""
    found = _printable(request, code, language, principal)
    if isinstance(found, Response):
        return found
    label, own = found
    headers = _label_headers(label.code, own, extension)
    if extension == "svg":
        return Response(label_svg(label), media_type=SVG_TYPE, headers=headers)
    try:
        if extension == "pdf":
            pdf = label_pdf(label, size, _count(count, "copies", 1))
            return Response(pdf, media_type="application/pdf", headers=headers)
        png = label_png(label, size, _count(count, "dpi", DEFAULT_DPI))
        return Response(png, media_type="image/png", headers=headers)
    except ValueError as err:
        return _option_page(request, language, str(err), size, count)
    except LabelFontError as err:
        return _no_font_page(request, language, err)


def _token_principal(request: Request) -> Principal | None:
    caller = checked_token(request)
    return caller if isinstance(caller, Principal) else None


def _printable(
    request: Request, code: str, language: str, principal: Principal | None
) -> tuple[CertificateLabel, bool] | Response:
    """The label of ``code`` and whether its issuer asks (then it prints the 联系方式), or the
    page to answer instead."""
    try:
        trace = _public_trace(request, code)
        base_url = request.app.state.settings.public_base_url
        void_reason = _void_reason(trace)
        own = _issuer_asks(principal, trace)
        label = certificate_label(
            trace,
            scan_url(base_url, trace.code),
            void_reason=void_reason,
            include_contact=own,
            qr_key=qr_signing_key(request),
        )
    except CodeError as err:
        return _bad_code_page(request, language, err)
    except SQLAlchemyError:
        return _unavailable_page(request, language)
    except ApiError as err:
        return _busy_page(request, language, err)
    if label is None:
        return _message_page(request, language, 404, "no_label_title", "no_label_body", code)
    return label, own


def _label_headers(code: str, own: bool, extension: str) -> dict[str, str]:
    return {
        **_PAGE_HEADERS,
        "Content-Disposition": f'inline; filename="hegezheng-{code}.{extension}"',
        # the issuer's label names its 联系方式: never from a shared cache
        **({"Cache-Control": "private, no-store"} if own else {}),
        "Vary": "Authorization",
    }


def _count(text: str | None, name: str, default: int) -> int:
    """A whole number query value.

    Raises:
        ValueError: not one.
    """
    if text is None:
        return default
    if not text.strip().isdigit():
        raise ValueError(f"{name} must be a whole number")
    return int(text)


def _option_page(request: Request, language: str, rule: str, *received: str | None) -> Response:
    context = {
        **_base_context(language),
        "status": 422,
        "title": TEXTS[language]["bad_label_option_title"],
        "body": TEXTS[language]["bad_label_option_body"],
        "rule": rule,
        "received": " ".join(r for r in received if r is not None),
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=422, headers=_PAGE_HEADERS
    )


def _no_font_page(request: Request, language: str, err: LabelFontError) -> Response:
    log.error("printable label: %s", err)
    context = {
        **_base_context(language),
        "status": 503,
        "title": TEXTS[language]["unavailable_title"],
        "body": TEXTS[language]["unavailable_body"],
        "rule": str(err),
        "received": "",
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=503, headers=_PAGE_HEADERS
    )


@router.get(
    "/c/{code:path}",
    response_class=HTMLResponse,
    responses={
        400: {"content": {"text/html": {}}, "description": "Malformed code: what is wrong."},
        404: {"content": {"text/html": {}}, "description": "Well-formed code, not in the ledger."},
        503: {
            "content": {"text/html": {}},
            "description": "Too busy (Retry-After) or unavailable.",
        },
    },
    summary="Consumer scan page (HTML; zh-CN, `?lang=en` for English)",
)
def scan_page(request: Request, code: str, lang: LangQuery = None, cq: QrQuery = None) -> Response:
    language = pick_language(lang)
    try:
        trace = _public_trace(request, code)
    except CodeError as err:
        return _bad_code_page(request, language, err)
    except SQLAlchemyError:
        return _unavailable_page(request, language)
    except ApiError as err:
        return _busy_page(request, language, err)
    if not trace.found:
        return _message_page(request, language, 404, "not_found_title", "not_found_body", code)
    context = {
        **_base_context(language),
        **scan_view(trace, language, _root(request)),
        "browser_check": _browser_check(request, language),
        "qr_check": None if cq is None else _qr_check(request, trace, cq, language),
    }
    return templates.TemplateResponse(request, "scan.html", context, headers=_PAGE_HEADERS)


def qr_signing_key(request: Request) -> Callable[[str], SigningKey | None]:
    """The issuer's custodial key, when this service holds it, to sign a label's QR."""
    context: QueryContext = request.app.state.context
    engine, master = context.engine, context.recalls.custody_master

    def key_of(organisation: str) -> SigningKey | None:
        if engine is None or master is None:
            return None
        try:
            return load_custodial_key(engine, master, organisation)
        except (CustodyError, SQLAlchemyError):
            return None  # its own key, elsewhere: the QR is printed unsigned

    return key_of


def _qr_check(request: Request, trace: Trace, value: str, lang: str) -> dict[str, Any]:
    """What the page says of a signed QR (docs/verification.md, "Signed QR codes"): valid only
    when the signature holds under a registered, unrevoked key of the issuer it names, and the
    fields it signed are the ledger's certificate under this very code."""
    words = TEXTS[lang]
    context: QueryContext = request.app.state.context
    trust = context.tracer.directory.trust()
    try:
        if trust is None:
            raise QrError(QR_PARAMETER, value, "the ledger has no trust chain yet")
        claim = verify_qr(value, trust)
    except QrError as err:
        return {"ok": False, "text": words["qr_malformed"], "detail": err.rule}
    except SignatureError as err:
        key = {RevokedKeyError: "qr_revoked", WrongSignerError: "qr_wrong_key"}.get(
            type(err), "qr_bad_signature"
        )
        return {"ok": False, "text": words[key], "detail": err.rule}
    issued = next(
        (
            t
            for t in trace.certificates
            if t.event.event_type == "CertificateIssued" and claim.code in t.event.codes
        ),
        None,
    )
    if claim.code != trace.code or issued is None:
        return {"ok": False, "text": words["qr_other_code"].format(code=claim.code), "detail": ""}
    event = issued.event
    ledger = claim_of(
        claim.code, event.payload, event.actor, event.quantity, event.unit, claim.key_id
    )
    if ledger != claim:
        return {"ok": False, "text": words["qr_differs"], "detail": _differences(claim, ledger)}
    name = issued.actor_name or event.actor
    return {"ok": True, "text": words["qr_valid"].format(org=name), "detail": ""}


def _differences(printed: QrClaim, ledger: QrClaim) -> str:
    names = {
        "product": "p",
        "quantity": "q",
        "unit": "u",
        "issuer": "o",
        "issue_date": "d",
        "basis": "b",
    }
    return ", ".join(
        f"{field}: {getattr(printed, field)} ≠ {getattr(ledger, field)}"
        for field in names
        if getattr(printed, field) != getattr(ledger, field)
    )


_SCRIPT = (Path(__file__).resolve().parent / "static" / "scan-check.js").read_bytes()


@router.get("/static/scan-check.js", include_in_schema=False)
def scan_check_script() -> Response:
    """The scan page's own proof check (docs/verification.md)."""
    headers = {"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"}
    return Response(_SCRIPT, media_type="text/javascript", headers=headers)


def _browser_check(request: Request, language: str) -> dict[str, str] | None:
    """What the page's script needs: the ledger key it checks the checkpoints against, and
    its words; ``None`` (no check offered) when this service holds no ledger key."""
    context: QueryContext = request.app.state.context
    ledger = context.ledger.ledger
    if ledger is None:
        return None
    words = {
        key.removeprefix("check_"): text
        for key, text in TEXTS[language].items()
        if key.startswith("check_")
    }
    witnessing = context.ledger.witnessing
    witnesses = [w.to_key() for w in witnessing.verifiers] if witnessing else []
    return {
        "ledger_key": ledger.verifier.to_key(),
        "witnesses": json.dumps(witnesses),
        "quorum": str(len(witnesses)),
        "words": json.dumps(words, ensure_ascii=False),
        "root": _root(request),
    }


def _issuer_asks(caller: Principal | None, trace: Trace) -> bool:
    """Whether the caller is the certificate's issuer (its producer token): its label prints the
    联系方式 the paper certificate carries; anyone else's leaves it out (docs/scan-page.md)."""
    if caller is None or caller.role is not Role.PRODUCER:
        return False
    return any(
        t.event.event_type == "CertificateIssued"
        and trace.code in t.event.codes
        and t.event.actor == caller.organisation
        for t in trace.certificates
    )


def _public_trace(request: Request, code: str) -> Trace:
    """The trace of ``code`` within the public budget, in one of the public slots.

    Raises:
        CodeError: not a valid code.
        ApiError: 503 ``busy`` when every slot is taken.
    """
    context: QueryContext = request.app.state.context
    with context.public_traces.slot():
        return context.tracer.trace(code, budget=context.trace_budget)


def _root(request: Request) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/")


def _base_context(language: str) -> dict[str, Any]:
    return {"t": TEXTS[language], "lang": language}


def _bad_code_page(request: Request, language: str, err: CodeError) -> Response:
    context = {
        **_base_context(language),
        "status": 400,
        "title": TEXTS[language]["bad_code_title"],
        "body": TEXTS[language]["bad_code_body"],
        "rule": err.rule,
        "received": err.value,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=400, headers=_PAGE_HEADERS
    )


def _message_page(
    request: Request, language: str, status: int, title: str, body: str, code: str
) -> Response:
    context = {
        **_base_context(language),
        "status": status,
        "title": TEXTS[language][title],
        "body": TEXTS[language][body],
        "code": code,
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=status, headers=_PAGE_HEADERS
    )


def _busy_page(request: Request, language: str, err: ApiError) -> Response:
    """503 at once, with ``Retry-After``, when too many public traces are being worked on."""
    context = {
        **_base_context(language),
        "status": err.status,
        "title": TEXTS[language]["busy_title"],
        "body": TEXTS[language]["busy_body"],
    }
    headers = {**_PAGE_HEADERS, "Retry-After": str(err.retry_after or 1)}
    return templates.TemplateResponse(
        request, "error.html", context, status_code=err.status, headers=headers
    )


def _unavailable_page(request: Request, language: str) -> Response:
    log.exception("scan page: the ledger could not be read")
    context = {
        **_base_context(language),
        "status": 503,
        "title": TEXTS[language]["unavailable_title"],
        "body": TEXTS[language]["unavailable_body"],
    }
    return templates.TemplateResponse(
        request, "error.html", context, status_code=503, headers=_PAGE_HEADERS
    )


# --- the page's content --------------------------------------------------------------------------


def scan_view(trace: Trace, lang: str, root: str = "") -> dict[str, Any]:
    """Everything ``scan.html`` shows, as display text (public view only)."""
    return {
        "code": trace.code,
        "kind": TEXTS[lang].get(f"kind_{trace.kind}", trace.kind),
        "banner": _banner(trace, lang, root),
        "product": _product(trace, lang),
        "origin": _origin(trace, lang),
        "certificates": [_certificate(t, trace, lang, root) for t in trace.certificates],
        "label_url": _label_url(trace, lang, root),
        "inspections": [
            _inspection(t, lang, root, self_test=t.event.event_id in trace.self_tests)
            for t in trace.inspections
        ],
        "documents": [_document(t, lang, root) for t in trace.documents],
        "hops": [_hop(t, lang, root, trace.public_names()) for t in trace.custody],
        "partial": not trace.complete,
        "chart": temperature_chart(trace.temperature, lang),
    }


def _payload(traced: TracedEvent) -> dict[str, Any]:
    return public_payload(traced.event.payload)


def _ledger(traced: TracedEvent, root: str) -> dict[str, str]:
    event_id = traced.event.event_id
    return {"event_id": event_id, "url": f"{root}/v1/ledger/proof/{quote(event_id, safe='')}"}


def code_link(code: str, lang: str, root: str = "") -> str:
    """Path of the scan page of ``code``, in ``lang``."""
    suffix = "?lang=en" if lang == "en" else ""
    return f"{root}/c/{quote(code, safe='()')}{suffix}"


def _label_url(trace: Trace, lang: str, root: str) -> str | None:
    if trace.kind != CodeKind.CERTIFICATE.value or not any(
        trace.code in t.event.codes for t in trace.certificates
    ):
        return None
    suffix = "?lang=en" if lang == "en" else ""
    return f"{root}/c/{quote(trace.code, safe='()')}/label.svg{suffix}"


def _banner(trace: Trace, lang: str, root: str) -> dict[str, Any]:
    """The verdict (``suyuan.verdict``) as the page's first words: its title, the reasons (the
    findings, worst first, in the reader's words), the advice for a consumer of this kind of
    product, and what goes with a state (who recalled, the replacement certificate)."""
    verdict = trace.verdict
    banner: dict[str, Any] = {
        "level": verdict.level,
        "status": verdict.state,
        "title": verdict.title(lang),
        "reasons": [_finding_text(f, trace, lang) for f in verdict.findings],
        "advice": verdict.advice(lang, CONSUMER),
        "notes": [_finding_text(f, trace, lang) for f in verdict.notes],
        "recalls": [
            _recall(t, lang, root)
            for t in trace.recalls
            if any(f.event_id == t.event.event_id for f in verdict.findings)
        ],
        "replacements": [
            {"code": c, "url": code_link(c, lang, root)} for c in replacement_codes(trace)
        ]
        if verdict.state == REPLACED
        else [],
    }
    return banner


def _finding_text(finding: Finding, trace: Trace, lang: str) -> dict[str, str]:
    """One reason of the verdict: the rule's words and, where it helps, what exactly (shown on
    a line of its own)."""
    rule = finding.rule
    words = rule.zh if lang == "zh" else rule.en
    texts = TEXTS[lang]
    detail = finding.detail
    if finding.rule_id in ("inspection_failed", "self_test_failed"):
        failed = next((t for t in trace.inspections if t.event.event_id == finding.event_id), None)
        detail = _failure_text(failed, lang) if failed is not None else detail
    elif finding.rule_id == "expired" and trace.expires_on is not None:
        detail = f"{texts['expired_on']} {trace.expires_on.isoformat()}"
    return {"text": words, "detail": detail}


def replacement_codes(trace: Trace) -> list[str]:
    """Codes of the certificates issued in place of the voided ``trace.code``."""
    codes = (t.event.payload.get("replacement_code") for t in trace.voids)
    return list(dict.fromkeys(str(c) for c in codes if c))


def _void_reason(trace: Trace) -> str | None:
    reasons = [str(t.event.payload.get("reason", "")) for t in trace.voids]
    return "；".join(reasons) if reasons else None


def _recall(traced: TracedEvent, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    return {
        "by": traced.actor_name or TEXTS[lang]["unknown"],
        "when": when_text(traced.event.occurred_at),
        "level": word(lang, "recall_level", payload.get("level")),
        "ledger": _ledger(traced, root),
    }


def _failed(traced: TracedEvent) -> bool:
    return not traced.event.payload.get("passed", True)


def _failure_text(traced: TracedEvent, lang: str) -> str:
    payload = _payload(traced)
    kind = word(lang, "inspection", payload.get("kind"))
    failed = [i for i in payload.get("items", ()) if not i.get("passed", True)]
    texts = TEXTS[lang]
    details = texts["comma"].join(_item_value(i, lang) for i in failed)
    return f"{kind}{texts['colon']}{details}" if details else kind


def _item_value(item: Mapping[str, Any], lang: str) -> str:
    """``新冠病毒核酸 结果：阳性（要求：阴性）`` — labelled, so a qualitative result reads right."""
    texts = TEXTS[lang]
    value = f"{item.get('name', '')} {texts['value']}{texts['colon']}{_measured(item)}"
    if item.get("limit"):
        limit = f"{texts['required']}{texts['colon']}{item['limit']}"
        value += f"{texts['lparen']}{limit}{texts['rparen']}"
    return value


def _product(trace: Trace, lang: str) -> dict[str, str] | None:
    if not trace.product:
        return None
    return {
        "name": str(trace.product.get("name") or ""),
        "category": word(lang, "category", trace.product.get("category")),
    }


def _origin(trace: Trace, lang: str) -> dict[str, str] | None:
    if not trace.origin:
        return None
    origin = trace.origin
    return {
        "name": str(origin.get("name") or TEXTS[lang]["unknown"]),
        "place": str(origin.get("place") or ""),
        "country": word(lang, "country", origin.get("country")),
    }


def _certificate(traced: TracedEvent, trace: Trace, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    own_code = _certificate_code(traced)
    return {
        "code": own_code,
        "url": code_link(own_code, lang, root) if own_code else None,
        "is_this_code": own_code == trace.code,
        "voided": own_code == trace.code and bool(trace.voids),
        "issuer": traced.actor_name or TEXTS[lang]["unknown"],
        "issuer_type": word(lang, "issuer_type", payload.get("issuer_type")),
        "product": str(payload.get("product_name") or ""),
        "category": word(lang, "category", payload.get("category")),
        "origin": str(payload.get("origin") or ""),
        "issue_date": str(payload.get("issue_date") or ""),
        "commitment": str(payload.get("commitment") or ""),
        "basis": word(lang, "basis", payload.get("basis")),
        "upstream": [
            {"code": str(c), "url": code_link(str(c), lang, root)}
            for c in payload.get("upstream_certificates") or ()
        ],
        "ledger": _ledger(traced, root),
    }


def _certificate_code(traced: TracedEvent) -> str:
    # A 合格证 event holds exactly one certificate code, beside the lot codes it covers.
    return next((c for c in traced.event.codes if is_valid_certificate_code(c)), "")


def _inspection(traced: TracedEvent, lang: str, root: str, *, self_test: bool) -> dict[str, Any]:
    payload = _payload(traced)
    return {
        "kind": word(lang, "inspection", payload.get("kind")),
        "self_test": self_test,
        "passed": bool(payload.get("passed", False)),
        "by": traced.actor_name or TEXTS[lang]["unknown"],
        "lab": payload.get("lab"),
        "when": when_text(traced.event.occurred_at),
        "results": [
            {
                "name": str(item.get("name", "")),
                "value": _measured(item),
                "limit": item.get("limit"),
                "standard": item.get("standard"),
                "passed": bool(item.get("passed", False)),
            }
            for item in payload.get("items", ())
        ],
        "ledger": _ledger(traced, root),
    }


def _measured(item: Mapping[str, Any]) -> str:
    """``0.08 mg/kg``; a qualitative result (未检出, 阴性) goes without the unit."""
    value = str(item.get("value", ""))
    try:
        float(value)
    except ValueError:
        return value
    return f"{value} {item['unit']}" if item.get("unit") else value


def _document(traced: TracedEvent, lang: str, root: str) -> dict[str, Any]:
    payload = _payload(traced)
    kind = traced.event.event_type
    texts = TEXTS[lang]
    rows: list[tuple[str, str]] = []
    passed: bool | None = None
    checks: list[dict[str, Any]] = []
    if kind == "AnimalQuarantineCertified":
        rows = [
            (texts["form"], word(lang, "form", payload.get("form"))),
            (texts["species"], str(payload.get("species", ""))),
            (texts["route"], f"{payload.get('origin', '')} → {payload.get('destination', '')}"),
            (texts["authority"], str(payload.get("issuing_authority", ""))),
            (texts["number"], str(payload.get("certificate_no", ""))),
        ]
        passed = True
    elif kind == "MeatQualityInspected":
        rows = [
            (texts["species"], str(payload.get("species", ""))),
            (texts["number"], str(payload.get("certificate_no", ""))),
        ]
        passed = bool(payload.get("passed", False))
    elif kind == "ImportDeclared":
        rows = [
            (texts["name"], str(payload.get("product_name", ""))),
            (texts["country"], word(lang, "country", payload.get("origin_country"))),
            (texts["batch"], str(payload.get("batch_no", ""))),
            (texts["production_date"], str(payload.get("production_date", ""))),
            (texts["shelf_life"], f"{payload.get('shelf_life_days', '')} {texts['days']}"),
        ]
        checks = [_import_check(name, payload.get(name), lang) for name in _THREE_CERTIFICATES]
        passed = all(c["passed"] for c in checks)
    return {
        "title": word(lang, "document", kind),
        "by": traced.actor_name or texts["unknown"],
        "when": when_text(traced.event.occurred_at),
        "rows": [(k, v) for k, v in rows if v.strip(" →")],
        "checks": checks,
        "passed": passed,
        "ledger": _ledger(traced, root),
    }


_THREE_CERTIFICATES = ("quarantine_certificate", "nucleic_acid_test", "disinfection_certificate")


def _import_check(name: str, document: Any, lang: str) -> dict[str, Any]:
    document = document if isinstance(document, Mapping) else {}
    passed = bool(document.get("passed", False))
    texts = TEXTS[lang]
    result = texts["passed"] if passed else texts["failed"]
    if name == "nucleic_acid_test" and passed:
        result = texts["negative"]
    return {
        "name": word(lang, "document", name),
        "number": str(document.get("number", "")),
        "passed": passed,
        "result": result,
    }


def _hop(traced: TracedEvent, lang: str, root: str, names: frozenset[str]) -> dict[str, Any]:
    """One hop of the custody path; a trading partner (not in ``names``) is not named."""
    event = traced.event
    location = event.location
    place = ""
    named = event.actor in names
    if location is not None and named:
        place = location.address or location.name
        if location.name and location.name != traced.actor_name and location.address:
            place = f"{location.name}{TEXTS[lang]['comma']}{location.address}"
    return {
        "what": word(lang, "event", event.event_type),
        "who": (traced.actor_name or TEXTS[lang]["unknown"]) if named else TEXTS[lang]["partner"],
        "where": place,
        "when": when_text(event.occurred_at),
        "datetime": event.occurred_at.isoformat(),
        "detail": hop_detail(traced, lang),
        "ledger": _ledger(traced, root),
    }


def hop_detail(traced: TracedEvent, lang: str) -> str:
    """One line about what happened at a hop, from the public payload."""
    payload = _payload(traced)
    kind = traced.event.event_type
    zh = lang == "zh"
    if kind == "Shipped":
        destination = payload.get("destination") or {}
        name = destination.get("name") if isinstance(destination, Mapping) else None
        return (f"发往 {name}" if zh else f"to {name}") if name else ""
    if kind == "Received":
        ok = payload.get("check_passed")
        verdict = TEXTS[lang]["passed" if ok else "failed"]
        note = payload.get("check_note")
        text = f"进货查验：{verdict}" if zh else f"incoming check: {verdict}"
        return f"{text}{TEXTS[lang]['lparen']}{note}{TEXTS[lang]['rparen']}" if note else text
    if kind in ("Stored", "Released"):
        return word(lang, "facility", payload.get("facility"))
    if kind == "Sold":
        return word(lang, "channel", payload.get("channel"))
    if kind in ("Aggregated", "Disaggregated"):
        parent = payload.get("parent_code", "")
        if kind == "Aggregated":
            return f"装入 {parent}" if zh else f"into {parent}"
        return f"从 {parent} 取出" if zh else f"out of {parent}"
    if kind == "Transformed":
        return word(lang, "process", payload.get("process"))
    if kind == "Disinfected":
        target = word(lang, "target", payload.get("target"))
        return f"{target} · {payload.get('disinfectant', '')}"
    if kind == "Destroyed":
        return str(payload.get("reason", ""))
    if kind == "ColdChainCodesAssigned":
        return str(payload.get("station_name", ""))
    if kind == "ImportDeclared":
        country = word(lang, "country", payload.get("origin_country"))
        return f"原产国 {country}" if zh else f"from {country}"
    if kind == "VaccineAdministered":
        return str(payload.get("clinic_name", ""))
    if kind == "VaccineLotReleased":
        return str(payload.get("lot_no", ""))
    return ""


def when_text(at: datetime) -> str:
    """``2026-05-06 07:10`` in the zone it happened in; the offset is named when not China's."""
    text = at.strftime("%Y-%m-%d %H:%M")
    offset = at.utcoffset()
    if offset is not None and offset != _CHINA:
        text += " UTC" + at.strftime("%z")[:3] + ":" + at.strftime("%z")[3:]
    return text


# --- temperature chart ---------------------------------------------------------------------------

_CHART_WIDTH = 340
_CHART_HEIGHT = 160
_PAD_LEFT = 38
_PAD_RIGHT = 10
_PAD_TOP = 12
_PAD_BOTTOM = 26
_PLOT_HEIGHT = _CHART_HEIGHT - _PAD_TOP - _PAD_BOTTOM
_TICK_GAP = 12  # chart units between two temperature labels


@dataclass(frozen=True)
class _Scale:
    """Maps time and temperature to chart coordinates."""

    start: datetime
    seconds: float
    low: float
    high: float

    def x(self, at: datetime) -> float:
        share = (at - self.start).total_seconds() / self.seconds if self.seconds else 0.5
        return round(_PAD_LEFT + share * (_CHART_WIDTH - _PAD_LEFT - _PAD_RIGHT), 1)

    def y(self, celsius: float) -> float:
        share = (celsius - self.low) / (self.high - self.low)
        return round(_CHART_HEIGHT - _PAD_BOTTOM - share * _PLOT_HEIGHT, 1)


def temperature_chart(temperature: Mapping[str, Any] | None, lang: str) -> dict[str, Any] | None:
    """Coordinates of the inline SVG chart: the readings as a line, the allowed band shaded,
    excursions as red dots; ``None`` without readings."""
    if not temperature or not temperature.get("readings"):
        return None
    readings = sorted((_reading(r) for r in temperature["readings"]), key=lambda r: r["at"])
    values = [r["celsius"] for r in readings]
    bounds = [b for r in readings for b in (r["min"], r["max"]) if b is not None]
    start, end = readings[0]["at"], readings[-1]["at"]
    scale = _Scale(
        start,
        (end - start).total_seconds(),
        min([*values, *bounds]) - 1.0,
        max([*values, *bounds]) + 1.0,
    )
    points = [(scale.x(r["at"]), scale.y(r["celsius"])) for r in readings]
    excursions = [
        {"x": px, "y": py, "label": f"{r['celsius']:g} °C · {when_text(r['at'])}"}
        for (px, py), r in zip(points, readings, strict=True)
        if _outside(r)
    ]
    return {
        "width": _CHART_WIDTH,
        "height": _CHART_HEIGHT,
        "line": " ".join(f"{px},{py}" for px, py in points),
        "points": [{"x": px, "y": py} for px, py in points],
        "band": _band(readings, scale),
        "excursions": excursions,
        "ticks": [{"y": scale.y(v), "label": f"{v:g} °C"} for v in _ticks(readings, values, scale)],
        "plot_left": _PAD_LEFT,
        "plot_right": _CHART_WIDTH - _PAD_RIGHT,
        "axis_y": _CHART_HEIGHT - _PAD_BOTTOM,
        "start": when_text(start),
        "end": when_text(end),
        "summary": _summary(readings, values, lang),
        "allowed": _allowed_text(readings),
    }


def _reading(reading: Mapping[str, Any]) -> dict[str, Any]:
    at = reading["at"]
    moment = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
    low, high = reading.get("min"), reading.get("max")
    return {
        "at": moment,
        "celsius": float(reading["celsius"]),
        "min": None if low is None else float(low),
        "max": None if high is None else float(high),
    }


def _outside(reading: Mapping[str, Any]) -> bool:
    value, low, high = reading["celsius"], reading["min"], reading["max"]
    return (low is not None and value < low) or (high is not None and value > high)


def _band(readings: Sequence[Mapping[str, Any]], scale: _Scale) -> str | None:
    """Polygon of the allowed range along the time axis (each record may set its own)."""
    if any(r["min"] is None or r["max"] is None for r in readings):
        return None
    top = [(scale.x(r["at"]), scale.y(r["max"])) for r in readings]
    bottom = [(scale.x(r["at"]), scale.y(r["min"])) for r in reversed(readings)]
    if len(readings) == 1:  # one reading: a band across the whole plot
        left, right = _PAD_LEFT, _CHART_WIDTH - _PAD_RIGHT
        top = [(left, top[0][1]), (right, top[0][1])]
        bottom = [(right, bottom[0][1]), (left, bottom[0][1])]
    return " ".join(f"{px},{py}" for px, py in top + bottom)


def _ticks(
    readings: Sequence[Mapping[str, Any]], values: Sequence[float], scale: _Scale
) -> list[float]:
    """Labelled temperatures: the allowed limits first, then the lowest and highest reading,
    each only where its label does not overlap one already placed."""
    limits = [b for r in readings for b in (r["min"], r["max"]) if b is not None]
    kept: list[float] = []
    for mark in [*limits, min(values), max(values)]:
        if all(abs(scale.y(mark) - scale.y(other)) >= _TICK_GAP for other in kept):
            kept.append(mark)
    return sorted(kept)


def _summary(readings: Sequence[Mapping[str, Any]], values: Sequence[float], lang: str) -> str:
    outside = sum(1 for r in readings if _outside(r))
    low, high = f"{min(values):g} °C", f"{max(values):g} °C"
    if lang == "zh":
        verdict = f"{outside}次超出允许范围" if outside else "全程在允许范围内"
        return f"{len(readings)}次读数，最低 {low}，最高 {high}，{verdict}"
    verdict = f"{outside} outside the allowed range" if outside else "always within range"
    return f"{len(readings)} readings, lowest {low}, highest {high}, {verdict}"


def _allowed_text(readings: Sequence[Mapping[str, Any]]) -> str | None:
    ranges = {(r["min"], r["max"]) for r in readings if r["min"] is not None}
    if len(ranges) != 1:
        return None
    low, high = next(iter(ranges))
    return f"{low:g} ~ {high:g} °C" if high is not None else f"≥ {low:g} °C"
