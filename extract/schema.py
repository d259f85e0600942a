"""The two national report templates as data: every row and column label with its canonical key.

The extractors, the checks and the warehouse all read these tables. A label variant seen in a real
report is one more entry in ``variants`` (the normaliser in ``labels.py`` already absorbs spacing,
full/half-width forms, "1、" for "1." and traditional script).
"""

from __future__ import annotations

from dataclasses import dataclass, field

TABLES = ("disclosure", "requests", "appeals")
TEMPLATES = ("2019", "2021")


@dataclass(frozen=True)
class Column:
    """A column heading. A key printed under different headings by the two templates has one
    entry per heading (the heading is then evidence for its template)."""

    key: str
    label: str
    variants: tuple[str, ...] = ()
    templates: tuple[str, ...] = TEMPLATES  # the templates that print these headings
    # Printed by some reports beside the template's columns (小计): a key only where printed.
    optional: bool = False

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.variants)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    columns: tuple[str, ...]
    variants: tuple[str, ...] = ()
    templates: tuple[str, ...] = TEMPLATES

    @property
    def labels(self) -> tuple[str, ...]:
        return (self.label, *self.variants)


@dataclass(frozen=True)
class Table:
    name: str
    heading: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    # Header words that show the table has started (used to follow a table across page breaks).
    markers: tuple[str, ...] = field(default=())
    templated: bool = True  # False: one form in both templates (its template is not reported)

    def rows_for(self, template: str | None) -> tuple[Row, ...]:
        """The template's rows; for a table with one form, ``None`` gives them all."""
        if template is None:
            return () if self.templated else self.rows
        return tuple(r for r in self.rows if template in r.templates)

    @property
    def optional_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.key for c in self.columns if c.optional))

    def only_in(self, template: str) -> tuple[str, ...]:
        """Row and column headings that only ``template`` prints: evidence for it. A heading
        both templates print (under any key) is no evidence."""
        def headings(entries, wanted) -> list[str]:
            return [label for e in entries if wanted(e.templates) for label in e.labels]
        own = headings((*self.rows, *self.columns), lambda ts: ts == (template,))
        shared = set(headings((*self.rows, *self.columns), lambda ts: ts != (template,)))
        return tuple(label for label in own if label not in shared)

    def keys_for(self, template: str | None, extra_columns: tuple[str, ...] = ()) -> list[str]:
        """Every cell key the template prescribes for this table."""
        keys = []
        for row in self.rows_for(template):
            cols = row.columns + tuple(c for c in extra_columns if c not in row.columns)
            keys.extend(f"{self.name}/{row.key}/{col}" for col in cols)
        return keys


# -- 二、主动公开政府信息情况 ------------------------------------------------------------------
_2019, _2021 = ("2019",), ("2021",)
_DOC_2019_COUNTS = ("made", "published", "total_public")
_DOC_2019_ITEMS = ("prev_count", "change", "decisions")
_DOC_2021_COUNTS = ("issued", "repealed", "in_force")

DISCLOSURE = Table(
    name="disclosure",
    heading="二、主动公开政府信息情况",
    markers=("信息内容", "第二十条第(一)项"),
    rows=(
        Row("rules", "规章", _DOC_2019_COUNTS, templates=("2019",)),
        Row("normative", "规范性文件", _DOC_2019_COUNTS, templates=("2019",)),
        Row("licensing", "行政许可", _DOC_2019_ITEMS, templates=("2019",)),
        Row("other_services", "其他对外管理服务事项", _DOC_2019_ITEMS, templates=("2019",)),
        Row("penalty", "行政处罚", _DOC_2019_ITEMS, templates=("2019",)),
        Row("coercion", "行政强制", _DOC_2019_ITEMS, templates=("2019",)),
        Row("fees", "行政事业性收费", ("prev_count", "change"), templates=("2019",)),
        Row("procurement", "政府集中采购", ("projects", "amount"), templates=("2019",)),
        Row("rules", "规章", _DOC_2021_COUNTS, templates=("2021",)),
        Row("normative", "行政规范性文件", _DOC_2021_COUNTS, templates=("2021",)),
        Row("licensing", "行政许可", ("decisions",), templates=("2021",)),
        Row("penalty", "行政处罚", ("decisions",), templates=("2021",)),
        Row("coercion", "行政强制", ("decisions",), templates=("2021",)),
        Row("fees", "行政事业性收费", ("amount",), templates=("2021",)),
    ),
    columns=(
        Column("made", "本年新制作数量", ("本年制作数量",), templates=_2019),
        Column("published", "本年新公开数量", ("本年公开数量",), templates=_2019),
        Column("total_public", "对外公开总数量", templates=_2019),
        Column("prev_count", "上一年项目数量", templates=_2019),
        Column("change", "本年增/减", ("本年增减",), templates=_2019),
        Column("decisions", "处理决定数量"),
        Column("decisions", "本年处理决定数量", templates=_2021),
        Column("projects", "采购项目数量", templates=_2019),
        Column("amount", "采购总金额", templates=_2019),
        Column("amount", "本年收费金额(万元)", ("本年收费金额(单位:万元)", "本年收费金额"),
               templates=_2021),
        Column("issued", "本年制发件数", templates=_2021),
        Column("repealed", "本年废止件数", templates=_2021),
        Column("in_force", "现行有效件数", templates=_2021),
    ),
)

# -- 三、收到和处理政府信息公开申请情况 ----------------------------------------------------------
REQUEST_COLUMNS = ("natural_person", "commercial", "research", "social_org", "legal_service",
                   "other_org", "total")
_R = REQUEST_COLUMNS

REQUESTS = Table(
    name="requests",
    heading="三、收到和处理政府信息公开申请情况",
    markers=("申请人情况", "自然人"),
    rows=(
        Row("new", "一、本年新收政府信息公开申请数量", _R),
        Row("carried_over", "二、上年结转政府信息公开申请数量", _R),
        Row("granted", "(一)予以公开", _R),
        Row("partial", "(二)部分公开(区分处理的,只计这一情形,不计其他情形)", _R),
        Row("denied_secret", "1.属于国家秘密", _R),
        Row("denied_law", "2.其他法律行政法规禁止公开", _R, variants=("2.其他法律行政止公开",)),
        Row("denied_security", "3.危及“三安全一稳定”", _R, variants=("3.危及\"三安全一稳定\"",)),
        Row("denied_third_party", "4.保护第三方合法权益", _R),
        Row("denied_internal", "5.属于三类内部事务信息", _R),
        Row("denied_process", "6.属于四类过程性信息", _R),
        Row("denied_case_file", "7.属于行政执法案卷", _R),
        Row("denied_query", "8.属于行政查询事项", _R),
        Row("unable_no_info", "1.本机关不掌握相关政府信息", _R),
        Row("unable_need_create", "2.没有现成信息需要另行制作", _R),
        Row("unable_unclear", "3.补正后申请内容仍不明确", _R),
        Row("rejected_complaint", "1.信访举报投诉类申请", _R),
        Row("rejected_duplicate", "2.重复申请", _R),
        Row("rejected_publication", "3.要求提供公开出版物", _R),
        Row("rejected_excessive", "4.无正当理由大量反复申请", _R),
        Row("rejected_confirm", "5.要求行政机关确认或重新出具已获取信息", _R),
        Row("other", "(六)其他处理", _R, templates=_2019),
        Row("other_no_correction",
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            _R, templates=_2021),
        Row("other_unpaid_fee",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            _R, templates=_2021),
        Row("other_misc", "3.其他", _R, templates=_2021),
        Row("total", "(七)总计", _R),
        Row("carried_forward", "四、结转下年度继续办理", _R),
    ),
    columns=(
        Column("natural_person", "自然人"),
        Column("commercial", "商业企业"),
        Column("research", "科研机构"),
        Column("social_org", "社会公益组织"),
        Column("legal_service", "法律服务机构"),
        Column("other_org", "其他"),
        Column("org_subtotal", "小计", optional=True),
        Column("total", "总计"),
    ),
)

# Outcome rows summed by R2 ("三、本年度办理结果" (一) to (六)).
OUTCOME_ROWS = tuple(r.key for r in REQUESTS.rows
                     if r.key not in ("new", "carried_over", "total", "carried_forward"))
ORGANISATION_COLUMNS = ("commercial", "research", "social_org", "legal_service", "other_org")

# -- 四、政府信息公开行政复议、行政诉讼情况 ------------------------------------------------------
APPEAL_COLUMNS = ("upheld", "corrected", "other", "pending", "total")

APPEALS = Table(
    name="appeals",
    heading="四、政府信息公开行政复议、行政诉讼情况",
    markers=("行政复议", "行政诉讼"),
    templated=False,
    rows=(
        Row("reconsideration", "行政复议", APPEAL_COLUMNS),
        Row("litigation_direct", "未经复议直接起诉", APPEAL_COLUMNS),
        Row("litigation_after_review", "复议后起诉", APPEAL_COLUMNS),
    ),
    columns=(
        Column("upheld", "结果维持"),
        Column("corrected", "结果纠正"),
        Column("other", "其他结果"),
        Column("pending", "尚未审结"),
        Column("total", "总计"),
    ),
)

SCHEMA: dict[str, Table] = {t.name: t for t in (DISCLOSURE, REQUESTS, APPEALS)}

# Tables whose template is reported (the appeals table is the same in both templates).
TEMPLATED_TABLES = tuple(name for name, table in SCHEMA.items() if table.templated)

# Columns holding amounts in 万元 (a value printed in 元 is converted).
AMOUNT_COLUMNS = ("amount",)
# Columns that may legitimately be negative (2019 本年增/减).
SIGNED_COLUMNS = ("change",)


def all_keys(templates: dict[str, str], extra_columns: dict[str, tuple[str, ...]] | None = None
             ) -> list[str]:
    """Every cell key a report with these per-table templates must have."""
    extra_columns = extra_columns or {}
    keys: list[str] = []
    for name in TABLES:
        table = SCHEMA[name]
        if table.templated and name not in templates:
            continue
        keys.extend(table.keys_for(templates.get(name), extra_columns.get(name, ())))
    return keys


def every_key() -> set[str]:
    """Every key either template has, optional columns included."""
    return {key for template in TEMPLATES for key in all_keys(
        dict.fromkeys(TEMPLATED_TABLES, template),
        {name: table.optional_columns for name, table in SCHEMA.items()})}
