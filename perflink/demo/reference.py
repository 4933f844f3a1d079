"""Static reference data of the demo insurer: branches, unit templates, positions, name characters.

Everything here is plain data; the generator (`perflink.demo.generate`) draws from it with a seeded
random generator, so the same seed gives the same insurer.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Branch:
    """A provincial branch (分公司) and the traits that make its numbers differ from the others'."""

    code: str
    name: str
    name_en: str
    area_codes: tuple[str, ...]  # first six digits of ID-card numbers issued there
    size: float  # relative headcount
    flood: float  # exposure to the 汛期 (flood season): scales the Jun-Sep claims surge
    catastrophe: str  # the flood-season event typical there (台风 / 暴雨 / 洪水)
    finance_days: float  # median claim-payment days (approval -> paid) of its finance team
    finance_improves: bool  # finance speeds up over the period (a programme to recover later)
    hr_days: float  # median time-to-fill of agent requisitions, days
    it_risk: float  # relative share of IT outages hitting it
    opened: str  # ISO date the branch opened


BRANCHES: tuple[Branch, ...] = (
    Branch("BJ", "北京分公司", "Beijing Branch", ("110101", "110105", "110108"), 1.2, 0.5, "暴雨", 0.8, False, 20, 0.7, "2009-03-01"),
    Branch("SH", "上海分公司", "Shanghai Branch", ("310101", "310104", "310115"), 1.2, 0.9, "台风", 1.0, True, 24, 0.8, "2009-06-01"),
    Branch("GD", "广东分公司", "Guangdong Branch", ("440103", "440106", "440304"), 1.5, 1.5, "台风", 2.2, True, 34, 1.5, "2010-01-01"),
    Branch("JS", "江苏分公司", "Jiangsu Branch", ("320102", "320106", "320583"), 1.1, 1.1, "暴雨", 1.4, False, 28, 1.0, "2010-09-01"),
    Branch("SC", "四川分公司", "Sichuan Branch", ("510104", "510107", "510112"), 0.9, 1.2, "洪水", 3.0, True, 38, 1.3, "2011-05-01"),
    Branch("ZJ", "浙江分公司", "Zhejiang Branch", ("330102", "330106", "330203"), 1.0, 1.3, "台风", 1.2, False, 25, 0.9, "2011-08-01"),
    Branch("SD", "山东分公司", "Shandong Branch", ("370102", "370202", "370602"), 0.9, 0.7, "暴雨", 1.7, False, 30, 1.1, "2012-04-01"),
    Branch("HB", "湖北分公司", "Hubei Branch", ("420102", "420106", "420111"), 0.8, 1.1, "暴雨", 2.6, True, 36, 1.2, "2013-02-01"),
    Branch("HN", "河南分公司", "Henan Branch", ("410102", "410105", "410305"), 0.8, 0.9, "暴雨", 2.0, False, 31, 1.0, "2014-06-01"),
    Branch("FJ", "福建分公司", "Fujian Branch", ("350102", "350203", "350582"), 0.7, 1.4, "台风", 1.5, False, 27, 0.9, "2015-03-01"),
)  # fmt: skip

HQ_AREA_CODES = ("110102", "110105", "110108")


@dataclass(frozen=True)
class UnitTemplate:
    """A kind of unit the generator lays out: at headquarters once, or in every branch."""

    key: str
    name: str
    name_en: str
    kind: str
    unit_type: str
    category: str
    staff_weight: float  # share of the staff at its level (headquarters or branch)
    position: str  # code of the position its (non-head) staff hold
    team_size: int = 0  # > 0: the staff are split into teams of about this size under the unit


HQ_UNITS: tuple[UnitTemplate, ...] = (
    UnitTemplate("office", "", "", "group", "management", "general", 1.0, "ADM"),
    UnitTemplate("hr", "人力资源部", "Human Resources Dept.", "department", "functional", "hr", 3.0, "HR"),
    UnitTemplate("finance", "财务部", "Finance Dept.", "department", "functional", "finance", 4.0, "FIN"),
    UnitTemplate("it", "信息技术部", "IT Dept.", "department", "functional", "it", 8.0, "IT"),
    UnitTemplate("admin", "综合管理部", "General Administration Dept.", "department", "functional", "admin", 2.0, "ADM"),
    UnitTemplate("product", "产品精算部", "Product & Actuarial Dept.", "department", "business", "product", 4.0, "PRD"),
    UnitTemplate("underwriting", "核保部", "Underwriting Dept.", "department", "business", "underwriting", 5.0, "UW"),
    UnitTemplate("service", "客户服务中心", "Customer Service Centre", "department", "business", "service", 6.0, "SVC"),
    UnitTemplate("sales", "个险业务部", "Individual Life Business Dept.", "department", "business", "sales", 2.0, "SLS"),
    UnitTemplate("claims", "理赔管理部", "Claims Management Dept.", "department", "business", "claims", 2.0, "CLM"),
)  # fmt: skip

BRANCH_UNITS: tuple[UnitTemplate, ...] = (
    UnitTemplate("office", "", "", "branch", "management", "general", 2.0, "ADM"),
    UnitTemplate("sales", "个险销售部", "Individual Life Sales Dept.", "department", "business", "sales", 6.0, "SLS"),
    UnitTemplate("claims", "理赔部", "P&C Claims Dept.", "department", "business", "claims", 2.0, "CLM"),
    UnitTemplate("claims_auto", "车险理赔{n}组", "Motor Claims Team {n}", "team", "business", "claims", 10.0, "CLM", 15),
    UnitTemplate("claims_prop", "非车险理赔{n}组", "Non-motor Claims Team {n}", "team", "business", "claims", 5.0, "CLM", 15),
    UnitTemplate("service", "客户服务部", "Customer Service Dept.", "department", "business", "service", 14.0, "SVC"),
    UnitTemplate("hr", "人力资源部", "Human Resources Dept.", "department", "functional", "hr", 7.0, "HR"),
    UnitTemplate("finance", "财务部", "Finance Dept.", "department", "functional", "finance", 9.0, "FIN"),
    UnitTemplate("it", "信息技术部", "IT Dept.", "department", "functional", "it", 5.0, "IT"),
)  # fmt: skip

SALES_TEAM = UnitTemplate(
    "sales_team", "营销{n}组", "Sales Team {n}", "team", "business", "sales", 0.0, "AGT"
)

HQ_STAFF_SHARE = 0.18  # the rest of the staff work in the branches
AGENTS_PER_TEAM = 16  # life sales teams (营销组) are sized around this

# (code, name, English name, is_manager)
POSITIONS: tuple[tuple[str, str, str, bool], ...] = (
    ("GRP-CEO", "集团总裁", "Group president", True),
    ("BR-GM", "分公司总经理", "Branch general manager", True),
    ("DEPT-MGR", "部门经理", "Department manager", True),
    ("TEAM-LEAD", "组长", "Team leader", True),
    ("AGT-LEAD", "营销主管", "Sales team leader (agent)", True),
    ("AGT", "营销员", "Life insurance agent", False),
    ("SLS", "销售支持专员", "Sales support officer", False),
    ("CLM", "理赔专员", "Claims adjuster", False),
    ("SVC", "客服专员", "Customer service representative", False),
    ("HR", "人力资源专员", "HR specialist", False),
    ("FIN", "财务专员", "Finance specialist", False),
    ("IT", "IT工程师", "IT engineer", False),
    ("PRD", "产品精算师", "Product actuary", False),
    ("UW", "核保专员", "Underwriter", False),
    ("ADM", "行政专员", "Administrative officer", False),
)
HEAD_POSITION_BY_KIND = {"group": "GRP-CEO", "branch": "BR-GM", "department": "DEPT-MGR", "team": "TEAM-LEAD"}

# Common surnames with rough relative frequencies (most frequent first).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈"
    "姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE = "伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国峰亮成志新东文博晨"
GIVEN_FEMALE = "芳娜敏静丽艳娟霞秀玲燕红萍婷雪琳晶颖慧倩琴云莉梅兰瑶佳欣怡悦璐蕾薇菲丹雯月思雨诗"
GIVEN_NEUTRAL = "子一嘉海天心安晓春秋文丹俊雅涵宁晨清立永家"

MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153",
    "155", "156", "157", "158", "159", "166", "177", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "198", "199",
)  # fmt: skip

# (issuer identification number, total length): ICBC, CCB, ABC, BOC debit cards are 19 digits, CMB's 16.
BANK_BINS: tuple[tuple[str, int], ...] = (
    ("622202", 19),
    ("621700", 19),
    ("622848", 19),
    ("621661", 19),
    ("622588", 16),
    ("621226", 19),
    ("623668", 19),
)

AGENT_CHANNELS = ("转介绍", "增员活动", "招聘网站", "校园招聘")
AGENT_CHANNEL_WEIGHTS = (0.45, 0.20, 0.25, 0.10)
STAFF_CHANNELS = ("招聘网站", "内部推荐", "猎头", "校园招聘")
STAFF_CHANNEL_WEIGHTS = (0.50, 0.25, 0.15, 0.10)

AGENT_EXIT_REASONS = ("个人原因", "业绩未达标", "转行", "家庭原因")
STAFF_EXIT_REASONS = ("个人发展", "薪酬福利", "家庭原因", "合同到期", "退休")

# IT systems: (name, what they serve). Only "sales" systems stop policies from being issued.
IT_SYSTEMS: tuple[tuple[str, str, float], ...] = (
    ("核心业务系统", "sales", 0.18),
    ("移动展业App", "sales", 0.16),
    ("新契约出单系统", "sales", 0.12),
    ("理赔作业系统", "claims", 0.18),
    ("财务共享系统", "finance", 0.12),
    ("人力资源系统", "hr", 0.08),
    ("办公OA", "office", 0.16),
)

CN_DIGITS = "零一二三四五六七八九"


def cn_number(n: int) -> str:
    """1 -> 一, 12 -> 十二, 25 -> 二十五, 105 -> 一百零五, 1234 -> 一千二百三十四 (1..9999): large demo
    insurers have more than 99 teams in a branch."""
    if n < 10:
        return CN_DIGITS[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        head = "" if tens == 1 else CN_DIGITS[tens]
        return f"{head}十{CN_DIGITS[ones] if ones else ''}"
    if n >= 10_000:
        raise ValueError(f"cn_number supports 1..9999, not {n}")
    parts = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit, n = divmod(n, value)
        if digit:
            if zero:
                parts.append("零")
            parts.append(CN_DIGITS[digit] + unit)
            zero = False
        elif parts:
            zero = True
    return "".join(parts)
