"""The canonical record kinds as data: fields, types, header synonyms, enum synonyms.

Pure Python (no Django), shared by the push API, file import, the pull connector and the cleaning
pipeline. Each field's `name` is the canonical column; `ref` types resolve against org data and are
stored as `<model_field>_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

FieldType = Literal[
    "str",
    "int",
    "decimal",
    "money",
    "date",
    "datetime",
    "bool",
    "enum",
    "satisfaction",
    "employee",
    "unit",
    "units",
    "requisition",
]

SATISFACTION_WORDS = {
    "满意": 5,
    "非常满意": 5,
    "比较满意": 4,
    "一般": 3,
    "不满意": 1,
    "非常不满意": 1,
    "较不满意": 2,
    "satisfied": 5,
    "very satisfied": 5,
    "neutral": 3,
    "dissatisfied": 1,
    "unsatisfied": 1,
}
BOOL_WORDS = {
    "是": True,
    "否": False,
    "y": True,
    "n": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "1": True,
    "0": False,
    "通过": True,
    "未通过": False,
    "合格": True,
    "不合格": False,
    "t": True,
    "f": False,
}


@dataclass(frozen=True)
class FieldSpec:
    name: str
    type: FieldType
    label: str  # Chinese label shown in reports and mapping previews
    required: bool = False
    synonyms: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    enum_synonyms: dict[str, str] = field(default_factory=dict)
    max_length: int | None = None

    @property
    def column(self) -> str:
        """The database column the cleaned value goes to."""
        return f"{self.name}_id" if self.type in {"employee", "unit", "requisition"} else self.name


@dataclass(frozen=True)
class KindSpec:
    kind: str
    label: str
    model: str  # "app_label.Model"
    key: str  # the natural key that becomes external_id when no external_id column is given
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.fields]


LINES = ("life", "health", "auto", "property", "liability")
LINE_SYNONYMS = {
    "寿险": "life",
    "人寿": "life",
    "健康险": "health",
    "健康": "health",
    "车险": "auto",
    "机动车": "auto",
    "财产险": "property",
    "企财险": "property",
    "家财险": "property",
    "责任险": "liability",
}


def _f(name: str, type_: FieldType, label: str, *syn: str, required: bool = False, **kw: object) -> FieldSpec:
    return FieldSpec(name, type_, label, required, (label, *syn), **kw)  # type: ignore[arg-type]


EXTERNAL_ID = _f(
    "external_id", "str", "外部编号", "external id", "外部ID", "源系统编号", "record id", max_length=80
)

KINDS: dict[str, KindSpec] = {
    "policy": KindSpec(
        "policy",
        "保单",
        "ingest.PolicyRecord",
        "policy_no",
        (
            _f(
                "policy_no",
                "str",
                "保单号",
                "policy number",
                "policy no",
                "保单编号",
                required=True,
                max_length=40,
            ),
            _f(
                "product_line",
                "enum",
                "险种大类",
                "product line",
                "line",
                "险类",
                "业务线",
                required=True,
                choices=LINES,
                enum_synonyms=LINE_SYNONYMS,
            ),
            _f(
                "agent",
                "employee",
                "代理人工号",
                "agent",
                "agent no",
                "销售人员工号",
                "业务员工号",
                required=True,
            ),
            _f("unit", "unit", "机构代码", "unit", "unit code", "部门代码", "销售机构", required=True),
            _f("applied_on", "date", "投保日期", "application date", "applied on", "投保日", required=True),
            _f("issued_on", "date", "承保日期", "issue date", "issued on", "签单日期"),
            _f("terminated_on", "date", "终止日期", "lapse date", "失效日期", "退保日期", "terminated on"),
            _f(
                "first_year_premium",
                "money",
                "首年保费",
                "first-year premium",
                "fyp",
                "新单保费",
                required=True,
            ),
            _f(
                "annualised_premium",
                "money",
                "年化保费",
                "annualised premium",
                "annualized premium",
                "ape",
                required=True,
            ),
            _f(
                "status",
                "enum",
                "保单状态",
                "status",
                "状态",
                required=True,
                choices=("in_force", "lapsed", "surrendered", "cancelled"),
                enum_synonyms={
                    "有效": "in_force",
                    "生效": "in_force",
                    "失效": "lapsed",
                    "退保": "surrendered",
                    "撤单": "cancelled",
                    "犹豫期撤单": "cancelled",
                },
            ),
        ),
    ),
    "claim": KindSpec(
        "claim",
        "理赔案件",
        "ingest.ClaimRecord",
        "claim_no",
        (
            _f(
                "claim_no",
                "str",
                "赔案号",
                "claim number",
                "claim no",
                "案件号",
                "报案号",
                required=True,
                max_length=40,
            ),
            _f(
                "line",
                "enum",
                "险种大类",
                "line",
                "product line",
                "险类",
                required=True,
                choices=LINES,
                enum_synonyms=LINE_SYNONYMS,
            ),
            _f(
                "handler",
                "employee",
                "理赔员工号",
                "handler",
                "handler no",
                "经办人工号",
                "处理人工号",
                required=True,
            ),
            _f("unit", "unit", "机构代码", "unit", "unit code", "理赔机构", required=True),
            _f("reported_at", "datetime", "报案时间", "reported at", "report time", required=True),
            _f("registered_at", "datetime", "立案时间", "registered at"),
            _f("assessed_at", "datetime", "定损时间", "assessed at", "核损时间"),
            _f("approved_at", "datetime", "核赔时间", "approved at", "审批时间", "理算时间"),
            _f("paid_at", "datetime", "赔付时间", "paid at", "支付时间", "付款时间"),
            _f("closed_at", "datetime", "结案时间", "closed at"),
            _f(
                "amount_claimed", "money", "索赔金额", "amount claimed", "报损金额", "估损金额", required=True
            ),
            _f("amount_paid", "money", "赔付金额", "amount paid", "赔款金额", "实赔金额"),
            _f(
                "satisfaction",
                "satisfaction",
                "满意度",
                "satisfaction",
                "客户满意度",
                "claimant satisfaction",
            ),
            _f(
                "catastrophe_tag",
                "str",
                "巨灾事件",
                "catastrophe",
                "catastrophe tag",
                "事件标签",
                max_length=40,
            ),
        ),
    ),
    "requisition": KindSpec(
        "requisition",
        "招聘需求",
        "ingest.RequisitionRecord",
        "requisition_no",
        (
            _f(
                "requisition_no",
                "str",
                "需求编号",
                "requisition number",
                "requisition no",
                "招聘需求编号",
                required=True,
                max_length=40,
            ),
            _f("requesting_unit", "unit", "需求部门代码", "requesting unit", "用人部门", required=True),
            _f("recruiting_unit", "unit", "招聘部门代码", "recruiting unit", "招聘部门", required=True),
            _f(
                "position_title",
                "str",
                "岗位名称",
                "position",
                "position title",
                "岗位",
                required=True,
                max_length=80,
            ),
            _f("positions", "int", "需求人数", "positions", "headcount", "人数", required=True),
            _f("opened_on", "date", "提出日期", "opened on", "需求日期", required=True),
            _f("target_date", "date", "到岗期限", "target date", "期望到岗日期", required=True),
            _f("closed_on", "date", "关闭日期", "closed on"),
        ),
    ),
    "hire": KindSpec(
        "hire",
        "候选人/入职",
        "ingest.HireRecord",
        "external_id",
        (
            _f(
                "requisition",
                "requisition",
                "需求编号",
                "requisition number",
                "requisition no",
                "招聘需求编号",
            ),
            _f(
                "candidate_name",
                "str",
                "候选人姓名",
                "candidate",
                "candidate name",
                "姓名",
                required=True,
                max_length=60,
            ),
            _f("channel", "str", "招聘渠道", "channel", "渠道", required=True, max_length=40),
            _f("offer_on", "date", "录用日期", "offer date", "offer日期", "发放offer日期"),
            _f("arrived_on", "date", "到岗日期", "arrival date", "arrived on", "入职日期"),
            _f("employee", "employee", "员工工号", "employee no", "employee", "工号"),
        ),
    ),
    "training": KindSpec(
        "training",
        "培训",
        "ingest.TrainingRecord",
        "external_id",
        (
            _f("employee", "employee", "员工工号", "employee no", "employee", "工号", required=True),
            _f("course", "str", "课程名称", "course", "课程", required=True, max_length=120),
            _f("completed_on", "date", "完成日期", "completed on", "结业日期"),
            _f("passed", "bool", "是否通过", "passed", "考核结果", "通过"),
            _f("score", "decimal", "成绩", "score", "考试成绩", "分数"),
        ),
    ),
    "exit": KindSpec(
        "exit",
        "离职",
        "ingest.ExitRecord",
        "external_id",
        (
            _f("employee", "employee", "员工工号", "employee no", "employee", "工号", required=True),
            _f("exit_date", "date", "离职日期", "exit date", "last day", required=True),
            _f("reason", "str", "离职原因", "reason", "原因", max_length=120),
        ),
    ),
    "payment": KindSpec(
        "payment",
        "财务支付",
        "ingest.PaymentRecord",
        "external_id",
        (
            _f(
                "kind",
                "enum",
                "支付类型",
                "kind",
                "payment kind",
                "类型",
                required=True,
                choices=("claim_payment", "reimbursement", "commission"),
                enum_synonyms={
                    "赔款支付": "claim_payment",
                    "赔款": "claim_payment",
                    "理赔支付": "claim_payment",
                    "费用报销": "reimbursement",
                    "报销": "reimbursement",
                    "佣金": "commission",
                    "佣金发放": "commission",
                },
            ),
            _f("reference", "str", "关联单号", "reference", "业务单号", "赔案号", max_length=60),
            _f("payee", "employee", "收款人工号", "payee", "payee no"),
            _f("unit", "unit", "机构代码", "unit", "unit code"),
            _f("requested_at", "datetime", "申请时间", "requested at", "提交时间", required=True),
            _f("approved_at", "datetime", "审批时间", "approved at", "审核时间"),
            _f("paid_at", "datetime", "支付时间", "paid at", "付款时间"),
            _f("amount", "money", "金额", "amount", "支付金额", required=True),
        ),
    ),
    "incident": KindSpec(
        "incident",
        "IT 故障",
        "ingest.IncidentRecord",
        "external_id",
        (
            _f("system", "str", "系统名称", "system", "受影响系统", required=True, max_length=80),
            _f(
                "severity",
                "enum",
                "故障等级",
                "severity",
                "级别",
                "等级",
                required=True,
                choices=("P1", "P2", "P3", "P4"),
                enum_synonyms={
                    "p1": "P1",
                    "p2": "P2",
                    "p3": "P3",
                    "p4": "P4",
                    "一级": "P1",
                    "二级": "P2",
                    "三级": "P3",
                    "四级": "P4",
                    "重大": "P1",
                    "严重": "P2",
                    "一般": "P3",
                    "轻微": "P4",
                },
            ),
            _f("started_at", "datetime", "开始时间", "started at", "故障开始时间", "start", required=True),
            _f("ended_at", "datetime", "恢复时间", "ended at", "故障恢复时间", "end", "结束时间"),
            _f("affected_units", "units", "受影响机构", "affected units", "影响机构代码"),
            _f("affected_transactions", "int", "受影响交易数", "affected transactions", "影响交易笔数"),
        ),
    ),
    "survey_response": KindSpec(
        "survey_response",
        "满意度调研答卷",
        "ingest.SurveyResponseRecord",
        "external_id",
        (
            _f("survey", "str", "调研编号", "survey", "survey id", required=True, max_length=40),
            _f("question", "str", "题目编号", "question", "question id", required=True, max_length=40),
            _f("rated_unit", "unit", "被评部门代码", "rated unit", "被评价部门", required=True),
            _f("rating_unit", "unit", "评价部门代码", "rating unit", "评价部门"),
            _f("points", "decimal", "得分", "points", "分数"),
            _f("period_on", "date", "所评期间", "period", "rated period", required=True),
            _f("answered_at", "datetime", "作答时间", "answered at", "提交时间", required=True),
        ),
    ),
    "demand_evaluation": KindSpec(
        "demand_evaluation",
        "协同需求评价",
        "ingest.DemandEvaluationRecord",
        "external_id",
        (
            _f("demand", "str", "需求编号", "demand", "demand id", required=True, max_length=40),
            _f(
                "demand_kind",
                "enum",
                "需求类型",
                "demand kind",
                "kind",
                required=True,
                choices=("recruitment", "training", "payment", "it_support", "other"),
                enum_synonyms={
                    "招聘": "recruitment",
                    "培训": "training",
                    "赔付提速": "payment",
                    "IT支持": "it_support",
                    "其他": "other",
                },
            ),
            _f("serving_unit", "unit", "承接部门代码", "serving unit", "承接部门", required=True),
            _f("requesting_unit", "unit", "提出部门代码", "requesting unit", "提出部门"),
            _f("points", "decimal", "得分", "points", "评价得分"),
            _f("provisional", "bool", "是否暂定", "provisional", "暂定"),
            _f("period_on", "date", "考核期间", "period", "evaluated period", required=True),
            _f("evaluated_at", "datetime", "评价时间", "evaluated at", required=True),
        ),
    ),
}


# --- Org and people master data (kept in sync with the HR system; effective-dated) ---------------

UNIT_KIND_SYNONYMS = {
    "集团": "group",
    "总公司": "company",
    "公司": "company",
    "分公司": "branch",
    "中心支公司": "branch",
    "支公司": "branch",
    "部门": "department",
    "部": "department",
    "团队": "team",
    "组": "team",
    "营业部": "team",
}
UNIT_TYPE_SYNONYMS = {
    "业务": "business",
    "业务部门": "business",
    "职能": "functional",
    "职能部门": "functional",
    "管理": "management",
    "机构": "management",
}
CATEGORY_SYNONYMS = {
    "销售": "sales",
    "个险": "sales",
    "理赔": "claims",
    "产品": "product",
    "核保": "underwriting",
    "客服": "service",
    "客户服务": "service",
    "人力": "hr",
    "人力资源": "hr",
    "财务": "finance",
    "信息技术": "it",
    "科技": "it",
    "行政": "admin",
    "综合管理": "general",
    "管理": "general",
}
EMPLOYMENT_SYNONYMS = {
    "代理人": "agent",
    "营销员": "agent",
    "业务员": "agent",
    "员工": "staff",
    "内勤": "staff",
    "正式员工": "staff",
}

MASTER_KINDS: dict[str, KindSpec] = {
    "unit": KindSpec(
        "unit",
        "机构",
        "org.OrgUnit",
        "code",
        (
            _f(
                "code",
                "str",
                "机构代码",
                "unit code",
                "code",
                "部门代码",
                "组织编码",
                required=True,
                max_length=40,
            ),
            _f(
                "name",
                "str",
                "机构名称",
                "name",
                "unit name",
                "部门名称",
                "组织名称",
                required=True,
                max_length=120,
            ),
            _f("name_en", "str", "英文名称", "english name", "name en", max_length=160),
            _f(
                "kind",
                "enum",
                "层级",
                "kind",
                "机构层级",
                "级别",
                required=True,
                choices=("group", "company", "branch", "department", "team"),
                enum_synonyms=UNIT_KIND_SYNONYMS,
            ),
            _f(
                "unit_type",
                "enum",
                "机构类型",
                "type",
                "unit type",
                "部门类型",
                required=True,
                choices=("business", "functional", "management"),
                enum_synonyms=UNIT_TYPE_SYNONYMS,
            ),
            _f(
                "category",
                "enum",
                "条线",
                "category",
                "业务条线",
                "职能类别",
                required=True,
                choices=(
                    "sales",
                    "claims",
                    "product",
                    "underwriting",
                    "service",
                    "hr",
                    "finance",
                    "it",
                    "admin",
                    "general",
                ),
                enum_synonyms=CATEGORY_SYNONYMS,
            ),
            _f(
                "parent",
                "str",
                "上级机构代码",
                "parent",
                "parent code",
                "上级代码",
                "上级部门代码",
                max_length=40,
            ),
            _f("effective_date", "date", "生效日期", "effective date", "变更日期", "effective"),
            _f("closed_on", "date", "撤销日期", "closed on", "关闭日期"),
        ),
    ),
    "employee": KindSpec(
        "employee",
        "员工",
        "org.Employee",
        "employee_no",
        (
            _f(
                "employee_no",
                "str",
                "工号",
                "employee no",
                "employee number",
                "员工工号",
                "人员编号",
                required=True,
                max_length=40,
            ),
            _f("name", "str", "姓名", "name", "员工姓名", required=True, max_length=60),
            _f(
                "gender",
                "enum",
                "性别",
                "gender",
                choices=("M", "F"),
                enum_synonyms={"男": "M", "女": "F", "male": "M", "female": "F"},
            ),
            _f("unit", "unit", "所属机构代码", "unit", "unit code", "部门代码", "机构代码", required=True),
            _f("position", "str", "岗位", "position", "职位", "岗位名称", max_length=80),
            _f("manager", "str", "直属上级工号", "manager", "manager no", "上级工号", max_length=40),
            _f(
                "employment_type",
                "enum",
                "用工类型",
                "employment type",
                "人员类别",
                "人员类型",
                required=True,
                choices=("agent", "staff"),
                enum_synonyms=EMPLOYMENT_SYNONYMS,
            ),
            _f("hire_date", "date", "入职日期", "hire date", "入司日期", required=True),
            _f("exit_date", "date", "离职日期", "exit date", "离司日期"),
            _f("email", "str", "邮箱", "email", "e-mail", "电子邮箱", max_length=254),
            _f("id_number", "str", "身份证号", "id number", "证件号码", "身份证号码", max_length=18),
            _f("mobile", "str", "手机号", "mobile", "手机", "手机号码", max_length=20),
            _f("bank_account", "str", "银行账号", "bank account", "工资卡号", "银行卡号", max_length=32),
            _f("effective_date", "date", "生效日期", "effective date", "调动日期", "变更日期"),
        ),
    ),
}


def normalise_header(text: str) -> str:
    """Header text for matching: trimmed, lower-case, full-width folded, spaces/underscores unified."""
    from perflink.ingest.cleaning import fold_width

    return " ".join(fold_width(str(text)).strip().lower().replace("_", " ").replace("（", "(").split())


def header_index(spec: KindSpec) -> dict[str, str]:
    """Every accepted header spelling (normalised) -> canonical field name."""
    index: dict[str, str] = {}
    for f in (*spec.fields, EXTERNAL_ID):
        for spelling in (f.name, *f.synonyms):
            index.setdefault(normalise_header(spelling), f.name)
    return index
