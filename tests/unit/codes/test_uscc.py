"""USCC (统一社会信用代码, GB 32100-2015) validation: design.md §3."""

from __future__ import annotations

import pytest
from stdnum.cn import uscc as stdnum_uscc

from suyuan.codes import validate_uscc
from suyuan.errors import CodeError

# Published codes: python-stdnum's docstring and the examples gathered in python-stdnum issue #207
# (creditchina.gov.cn, credit.fgw.sh.gov.cn), Huawei's from its Wikipedia infobox.
PUBLISHED_USCCS = [
    "91110000600037341L",
    "914403001922038216",  # 华为技术有限公司
    "9144030071526726XG",  # 腾讯科技（深圳）有限公司
    "91110000710926094P",  # 中国石油化工股份有限公司
    "91310000631696382C",  # 宝山钢铁股份有限公司
    "91420684MA4927PJ7B",  # letters in the subject identifier
    "91620105MA73NBBLXE",
    "9162010558590643X0",
    "121200004013590816",  # registrar 1 (机构编制), type 2 (事业单位)
]

# Codes whose registrar is N (农业: village collective economic organisations), A or Y: valid by
# GB 32100-2015 but rejected by stdnum.cn.uscc.validate. Built with the standard's check character.
LETTER_REGISTRAR_USCCS = [
    "N2330110MA28A1B2CN",  # N2: 村级集体经济组织, Hangzhou Yuhang
    "N1330106MA2J4K5L6C",  # N1: 组级集体经济组织
    "A1110000MA0012345B",  # A1: 军队事业单位
    "Y1110000MA01ABCDE8",  # Y: other registrars
]


@pytest.mark.parametrize("code", PUBLISHED_USCCS)
def test_published_codes_are_valid(code: str) -> None:
    assert validate_uscc(code) == code


@pytest.mark.parametrize("code", LETTER_REGISTRAR_USCCS)
def test_codes_with_registrar_a_n_y_are_valid(code: str) -> None:
    assert not stdnum_uscc.is_valid(code)  # the reason this module has its own format rules
    assert validate_uscc(code) == code


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("91110000600037341l", "91110000600037341L"),
        (" 9111 0000 6000 3734 1L ", "91110000600037341L"),
        ("n2330110ma28a1b2cn", "N2330110MA28A1B2CN"),
        ("9144-0300-7152-6726-XG", "9144030071526726XG"),
    ],
)
def test_input_is_normalised_to_upper_case_without_spaces(text: str, canonical: str) -> None:
    assert validate_uscc(text) == canonical


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("91110000600037341", "USCC must be 18 characters (got 17)"),
        ("91110000600037341LL", "USCC must be 18 characters (got 19)"),
        ("", "must not be empty"),
        (
            "01110000600037341L",
            "USCC char 1 (登记管理部门, registrar) must be 1-9, A, N or Y (got '0')",
        ),
        (
            "B1110000600037341L",
            "USCC char 1 (登记管理部门, registrar) must be 1-9, A, N or Y (got 'B')",
        ),
        ("90110000600037341L", "USCC char 2 (机构类别, entity type) must be a digit 1-9 (got '0')"),
        ("9A110000600037341L", "USCC char 2 (机构类别, entity type) must be a digit 1-9 (got 'A')"),
        (
            "911100A0600037341L",
            "USCC chars 3-8 (行政区划码, region code) must be 6 digits (got '1100A0')",
        ),
        (
            "91110000I00037341L",
            "USCC chars 9-17 (主体标识码) must be digits or letters other than I, O, S, V, Z "
            "(got 'I' at char 9)",
        ),
        (
            "911100006000373O1L",
            "USCC chars 9-17 (主体标识码) must be digits or letters other than I, O, S, V, Z "
            "(got 'O' at char 16)",
        ),
        (
            "91110000600037Z41L",
            "USCC chars 9-17 (主体标识码) must be digits or letters other than I, O, S, V, Z "
            "(got 'Z' at char 15)",
        ),
        ("91110000600037341M", "USCC check character (char 18) is 'M', expected 'L'"),
        ("91110000600037341S", "USCC check character (char 18) is 'S', expected 'L'"),
        ("914403001922038217", "USCC check character (char 18) is '7', expected '6'"),
        # a transposition of two characters in Huawei's code
        ("914403001922032816", "USCC check character (char 18) is '6', expected 'A'"),
    ],
)
def test_each_broken_rule_is_named(text: str, rule: str) -> None:
    with pytest.raises(CodeError) as caught:
        validate_uscc(text)
    assert caught.value.field == "actor"
    assert caught.value.rule == rule


def test_error_names_the_given_field_and_value() -> None:
    with pytest.raises(CodeError) as caught:
        validate_uscc("91110000600037341M", field="payload.buyer")
    assert caught.value.field == "payload.buyer"
    assert caught.value.value == "91110000600037341M"
    assert caught.value.as_dict()["reason"] == "invalid_code"


def test_new_uscc_makes_valid_codes_for_every_registrar() -> None:
    import random

    from suyuan.codes import new_uscc

    rng = random.Random(7)
    for registrar in "19ANY":
        code = new_uscc("330185", registrar=registrar, entity_type="2", rng=rng)
        assert validate_uscc(code) == code
        assert code[:8] == f"{registrar}2330185"
