"""Names of the GB/T 2260 region codes the project meets (the demo, the tests, the docs).

Not the whole national table: the codes of Zhejiang (and the one Shanghai district) that the
demo and the tests use, with the province and every prefecture-level city of Zhejiang, so that
a screen can say 杭州市西湖区 instead of 330106. Source: 中华人民共和国民政部《中华人民共和国
县以上行政区划代码》(the published GB/T 2260 code list, www.mca.gov.cn). Two codes are older
than today's list and kept because the demo or old records use them: ``330104`` 江干区 (abolished
in 2021) and ``330185`` 临安市 (临安区 ``330112`` since 2017). See docs/console.md "Region names".

A code not in the table is named by the nearest enclosing code that is (``330199`` →
"杭州市 330199"), else shown as the bare code.
"""

from __future__ import annotations

# code → (Chinese name, English name)
REGION_NAMES: dict[str, tuple[str, str]] = {
    "310000": ("上海市", "Shanghai"),
    "310101": ("上海市黄浦区", "Huangpu District, Shanghai"),
    "330000": ("浙江省", "Zhejiang Province"),
    "330100": ("杭州市", "Hangzhou"),
    "330102": ("杭州市上城区", "Shangcheng District, Hangzhou"),
    "330104": ("杭州市江干区（已撤销）", "Jianggan District, Hangzhou (abolished)"),
    "330105": ("杭州市拱墅区", "Gongshu District, Hangzhou"),
    "330106": ("杭州市西湖区", "Xihu District, Hangzhou"),
    "330108": ("杭州市滨江区", "Binjiang District, Hangzhou"),
    "330109": ("杭州市萧山区", "Xiaoshan District, Hangzhou"),
    "330110": ("杭州市余杭区", "Yuhang District, Hangzhou"),
    "330111": ("杭州市富阳区", "Fuyang District, Hangzhou"),
    "330112": ("杭州市临安区", "Lin'an District, Hangzhou"),
    "330113": ("杭州市临平区", "Linping District, Hangzhou"),
    "330114": ("杭州市钱塘区", "Qiantang District, Hangzhou"),
    "330122": ("杭州市桐庐县", "Tonglu County, Hangzhou"),
    "330127": ("杭州市淳安县", "Chun'an County, Hangzhou"),
    "330182": ("建德市", "Jiande"),
    "330185": ("临安（330185，现临安区）", "Lin'an (old code 330185)"),
    "330200": ("宁波市", "Ningbo"),
    "330206": ("宁波市北仑区", "Beilun District, Ningbo"),
    "330300": ("温州市", "Wenzhou"),
    "330400": ("嘉兴市", "Jiaxing"),
    "330500": ("湖州市", "Huzhou"),
    "330521": ("湖州市德清县", "Deqing County, Huzhou"),
    "330600": ("绍兴市", "Shaoxing"),
    "330700": ("金华市", "Jinhua"),
    "330782": ("义乌市", "Yiwu"),
    "330800": ("衢州市", "Quzhou"),
    "330900": ("舟山市", "Zhoushan"),
    "331000": ("台州市", "Taizhou"),
    "331100": ("丽水市", "Lishui"),
}


def region_name(code: str | None, lang: str = "zh") -> str | None:
    """The display name of a GB/T 2260 ``code`` in ``lang`` (``zh`` or ``en``); ``None`` for no
    code. Codes outside the table are named by their city or province when that is known, and
    always keep the code itself, so nothing is ever hidden."""
    if code is None:
        return None
    column = 1 if lang == "en" else 0
    known = REGION_NAMES.get(code)
    if known is not None:
        return known[column]
    for parent in (code[:4] + "00", code[:2] + "0000"):
        if parent in REGION_NAMES:
            return f"{REGION_NAMES[parent][column]} {code}"
    return code
