"""The body of a generated report page: 2021-format sections 一…六 and tables 二, 三, 四.

Numbers are deterministic (seeded by agency and year) and satisfy the format's own arithmetic
(R1-R4), unless a report is asked to break R1. ``report_cells`` is also what expected.py states,
keyed exactly like the warehouse (docs/data-dictionary.md). The tables are laid out as real portals
print them: header cells spanning rows and columns, group labels with rowspan.
"""

from __future__ import annotations

import random
from html import escape

from tests.portal.content import Article

Cells = dict[str, int | float]
# Cells of a blank template (the format notice decoy prints the tables with nothing in them).
BLANK: Cells = {}

APPLICANTS = ("natural_person", "commercial", "research", "social_org", "legal_service",
              "other_org")
REQUEST_COLUMNS = (*APPLICANTS, "total")

# 三、本年度办理结果: (group label, [(row key, printed label)]); a group of one row spans two
# columns.
OUTCOME_GROUPS: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("（一）予以公开", (("granted", ""),)),
    ("（二）部分公开（区分处理的，只计这一情形，不计其他情形）", (("partial", ""),)),
    ("（三）不予公开", (
        ("denied_secret", "1.属于国家秘密"),
        ("denied_law", "2.其他法律行政法规禁止公开"),
        ("denied_security", "3.危及“三安全一稳定”"),
        ("denied_third_party", "4.保护第三方合法权益"),
        ("denied_internal", "5.属于三类内部事务信息"),
        ("denied_process", "6.属于四类过程性信息"),
        ("denied_case_file", "7.属于行政执法案卷"),
        ("denied_query", "8.属于行政查询事项"))),
    ("（四）无法提供", (
        ("unable_no_info", "1.本机关不掌握相关政府信息"),
        ("unable_need_create", "2.没有现成信息需要另行制作"),
        ("unable_unclear", "3.补正后申请内容仍不明确"))),
    ("（五）不予处理", (
        ("rejected_complaint", "1.信访举报投诉类申请"),
        ("rejected_duplicate", "2.重复申请"),
        ("rejected_publication", "3.要求提供公开出版物"),
        ("rejected_excessive", "4.无正当理由大量反复申请"),
        ("rejected_confirm", "5.要求行政机关确认或重新出具已获取信息"))),
    ("（六）其他处理", (
        ("other_no_correction",
         "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
        ("other_unpaid_fee",
         "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
        ("other_misc", "3.其他"))),
)
OUTCOME_ROWS = tuple(key for _, rows in OUTCOME_GROUPS for key, _ in rows)
# How many requests an outcome row typically gets from a natural person (organisations: fewer).
_OUTCOME_SCALE = {"granted": 40, "partial": 8, "unable_no_info": 12, "rejected_duplicate": 4,
                  "rejected_complaint": 3, "other_misc": 3}
_APPLICANT_SCALE = {"natural_person": 1.0, "commercial": 0.3, "legal_service": 0.2}
APPEAL_ROWS = ("reconsideration", "litigation_direct", "litigation_after_review")
APPEAL_COLUMNS = ("upheld", "corrected", "other", "pending", "total")


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _carry(seed: str, offset: int, column: str, scale: float) -> int:
    """Requests an agency carries forward from a year (seed "agency|year", shifted by offset)."""
    agency, _, year = seed.rpartition("|")
    rng = random.Random(f"carry|{agency}|{int(year or 0) + offset}|{column}")
    return rng.randint(0, 3) if scale >= 1 else rng.randint(0, 1) if scale > 0.1 else 0


def report_cells(seed: str, r1_broken: bool = False) -> Cells:
    """Every cell of a 2021-template report, as the page prints it."""
    rng = random.Random(seed)
    cells: Cells = {}
    for row, top in (("rules", 4), ("normative", 12)):
        in_force = rng.randint(top, top * 6)
        cells[f"disclosure/{row}/issued"] = rng.randint(0, top)
        cells[f"disclosure/{row}/repealed"] = rng.randint(0, top // 2)
        cells[f"disclosure/{row}/in_force"] = in_force
    for row, top in (("licensing", 3000), ("penalty", 600), ("coercion", 40)):
        cells[f"disclosure/{row}/decisions"] = rng.randint(0, top)
    cells["disclosure/fees/amount"] = _number(rng.randint(0, 90000) / 100)

    for column in APPLICANTS:
        scale = _APPLICANT_SCALE.get(column, 0.05)
        total = 0
        for row in OUTCOME_ROWS:
            value = rng.randint(0, int(_OUTCOME_SCALE.get(row, 1) * scale + 0.5))
            cells[f"requests/{row}/{column}"] = value
            total += value
        # What one year carries forward the next carries over (the W1 continuity rule).
        carried_over, carried_forward = (_carry(seed, -1, column, scale),
                                         _carry(seed, 0, column, scale))
        if total + carried_forward < carried_over:  # more carried over than closed: grant more
            cells[f"requests/granted/{column}"] += carried_over - total - carried_forward
            total = carried_over - carried_forward
        cells[f"requests/total/{column}"] = total
        cells[f"requests/carried_over/{column}"] = carried_over
        cells[f"requests/carried_forward/{column}"] = carried_forward
        cells[f"requests/new/{column}"] = total + carried_forward - carried_over
    if r1_broken:  # a wrong carried-over figure: the row still adds up (R3), the balance does not
        cells["requests/carried_over/natural_person"] += 2
    for row in ("new", "carried_over", *OUTCOME_ROWS, "total", "carried_forward"):
        cells[f"requests/{row}/total"] = sum(cells[f"requests/{row}/{c}"] for c in APPLICANTS)

    for row, top in zip(APPEAL_ROWS, (3, 2, 1)):
        parts = [rng.randint(0, top), rng.randint(0, 1), rng.randint(0, 1), rng.randint(0, 1)]
        for column, value in zip(APPEAL_COLUMNS, [*parts, sum(parts)]):
            cells[f"appeals/{row}/{column}"] = value
    return cells


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _td(text: object, colspan: int = 1, rowspan: int = 1) -> str:
    spans = (f' colspan="{colspan}"' if colspan > 1 else "") + \
        (f' rowspan="{rowspan}"' if rowspan > 1 else "")
    return f"<td{spans}>{text}</td>"


def disclosure_table(cells: Cells) -> str:
    rows = []
    for item, heading, labels, lines in (
            ("（一）", ("本年制发件数", "本年废止件数", "现行有效件数"), None,
             (("规章", "rules"), ("行政规范性文件", "normative"))),
            ("（五）", ("本年处理决定数量",), "decisions", (("行政许可", "licensing"),)),
            ("（六）", ("本年处理决定数量",), "decisions",
             (("行政处罚", "penalty"), ("行政强制", "coercion"))),
            ("（八）", ("本年收费金额（单位：万元）",), "amount", (("行政事业性收费", "fees"),))):
        rows.append(_td(f"第二十条第{item}项", colspan=4))
        wide = 3 // len(heading)
        rows.append(_td("信息内容") + "".join(_td(h, colspan=wide) for h in heading))
        for label, key in lines:
            columns = ("issued", "repealed", "in_force") if labels is None else (labels,)
            rows.append(_td(label) + "".join(
                _td(_fmt(cells.get(f"disclosure/{key}/{c}")), colspan=wide) for c in columns))
    return _table("table_2", rows)


def requests_table(cells: Cells) -> str:
    def values(row: str) -> str:
        return "".join(_td(_fmt(cells.get(f"requests/{row}/{c}"))) for c in REQUEST_COLUMNS)

    rows = [
        _td("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", 3, 3)
        + _td("申请人情况", colspan=7),
        _td("自然人", rowspan=2) + _td("法人或其他组织", colspan=5) + _td("总计", rowspan=2),
        "".join(_td(h) for h in ("商业企业", "科研机构", "社会公益组织", "法律服务机构", "其他")),
        _td("一、本年新收政府信息公开申请数量", colspan=3) + values("new"),
        _td("二、上年结转政府信息公开申请数量", colspan=3) + values("carried_over"),
    ]
    span = sum(len(group) for _, group in OUTCOME_GROUPS) + 1  # the groups and (七)总计
    first = True
    for label, group in OUTCOME_GROUPS:
        for n, (key, item) in enumerate(group):
            lead = _td("三、本年度办理结果", rowspan=span) if first else ""
            first = False
            if not item:
                rows.append(lead + _td(label, colspan=2) + values(key))
            else:
                head = _td(label, rowspan=len(group)) if n == 0 else ""
                rows.append(lead + head + _td(item) + values(key))
    rows.append(_td("（七）总计", colspan=2) + values("total"))
    rows.append(_td("四、结转下年度继续办理", colspan=3) + values("carried_forward"))
    return _table("table_3", rows)


def appeals_table(cells: Cells) -> str:
    results = ("结果维持", "结果纠正", "其他结果", "尚未审结", "总计")
    rows = [
        _td("行政复议", colspan=5) + _td("行政诉讼", colspan=10),
        "".join(_td(r, rowspan=2) for r in results) + _td("未经复议直接起诉", colspan=5)
        + _td("复议后起诉", colspan=5),
        "".join(_td(r) for r in results * 2),
        "".join(_td(_fmt(cells.get(f"appeals/{row}/{c}")))
                for row in APPEAL_ROWS for c in APPEAL_COLUMNS),
    ]
    return _table("table_4", rows)


def _table(css: str, rows: list[str]) -> str:
    body = "\n".join(f"<tr>{row}</tr>" for row in rows)
    return (f'<table class="{css}" border="1" cellspacing="0" cellpadding="0" align="center">'
            f"<tbody>\n{body}\n</tbody></table>")


def blank_tables() -> str:
    """The three tables of the 2021 format with no numbers, as a notice about the format prints."""
    return "\n".join((disclosure_table(BLANK), requests_table(BLANK), appeals_table(BLANK)))


def report_body(agency: str, year: int, cells: Cells, *, heading_year: bool = True,
                contact: str = "") -> str:
    """Sections 一 to 六 of a report, as the inside of an article's body container."""
    heading = f"{agency}{year}年政府信息公开工作年度报告" if heading_year else \
        f"{agency}政府信息公开工作年度报告"
    a = escape(agency)
    return f"""<p style="text-align:center"><strong>{escape(heading)}</strong></p>
<p>本报告依据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《国务院办公厅政府信息与政务公开办公室关于印发〈中华人民共和国政府信息公开工作年度报告格式〉的通知》（国办公开办函〔2021〕30号）要求编制。全文包括总体情况、主动公开政府信息情况、收到和处理政府信息公开申请情况、政府信息公开行政复议和行政诉讼情况、存在的主要问题及改进情况、其他需要报告的事项。本报告所列数据的统计期限自{year}年1月1日起至{year}年12月31日止。{escape(contact)}</p>
<p><strong>一、总体情况</strong></p>
<p>{year}年，{a}坚持以公开为常态、不公开为例外，认真贯彻落实《条例》，围绕中心工作持续深化政务公开，不断提升政府工作透明度。</p>
<p>（一）主动公开。通过门户网站、政务新媒体等渠道主动公开政府信息，及时更新政府信息公开指南和目录。</p>
<p>（二）依申请公开。规范受理、办理、答复等环节，依法按时答复政府信息公开申请。</p>
<p>（三）政府信息管理。严格执行公开前保密审查，动态更新政府信息公开目录。</p>
<p>（四）平台建设。优化门户网站信息公开专栏，提升检索和下载便利度。</p>
<p>（五）监督保障。将政务公开纳入年度绩效考核，组织业务培训。</p>
<p><strong>二、主动公开政府信息情况</strong></p>
{disclosure_table(cells)}
<p><strong>三、收到和处理政府信息公开申请情况</strong></p>
{requests_table(cells)}
<p><strong>四、政府信息公开行政复议、行政诉讼情况</strong></p>
{appeals_table(cells)}
<p><strong>五、存在的主要问题及改进情况</strong></p>
<p>{a}政务公开工作仍存在公开内容不够全面、政策解读形式较为单一等问题。下一步将加强培训，丰富解读形式，提升公开质量。</p>
<p><strong>六、其他需要报告的事项</strong></p>
<p>本年度未收取政府信息公开信息处理费。{a}{year}年度政务公开工作要点落实情况良好。</p>
"""


def article_body(article: Article) -> str:
    """The inside of an article's body container, whatever the platform's chrome around it."""
    if article.tables:
        cells = report_cells(article.seed, article.r1_broken)
        return report_body(article.agency or "", article.year or 0, cells,
                           heading_year=article.heading_year)
    if article.images_of:  # scanned pages, no text
        return "".join(f'<p style="text-align:center"><img src="./{path.rsplit("/", 1)[1]}" '
                       'width="800"/></p>' for path in article.image_paths())
    if article.year is not None:  # the report is in the attachments
        return (f"<p>现将《{escape(article.title)}》全文公布如下，详见附件。</p>"
                "<p>如对本报告有疑问，请与本机关政务公开办公室联系。</p>")
    text = (f"<p>{escape(article.title)}</p><p>各有关单位：</p><p>现将有关事项通知如下，"
            "请结合实际认真贯彻执行。</p><p>特此通知。</p>")
    if "格式" in article.title:  # the format notice prints the blank tables
        text += blank_tables()
    return text
