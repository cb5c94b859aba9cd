"""The duties the plans state that the catalogue does not encode as a target or phase,
each with the reason. Reviewed by hand: ``test_catalog_duties.py`` reads every plan for
the sentences that state a dated target, a coverage duty, a recurring minimum or a phase,
and each must be encoded (a target or phase whose ``basis`` quotes it) or listed here.

Each entry: (plan number or None for every plan, an excerpt of the duty's clause, why).
"""

from __future__ import annotations

NOT_A_FIGURE = "a state of the whole system, not a figure any unit reports"

EXCLUDED: tuple[tuple[str | None, str, str], ...] = (
    # -- the campaign's common goals, stated by every plan --------------------------------
    (None, "2025年底前有效遏制重大事故隐患增量",
     "no level is stated: the new hazards found and closed are reported, not judged"),
    (None, "2026年底前形成重大事故隐患动态清零的常态化机制", NOT_A_FIGURE),
    (None, "2026年底前形成动态清零、闭环管理的重大事故隐患排查整治常态化机制", NOT_A_FIGURE),
    (None, "2026年底前，基本形成重大事故隐患动态清零常态化机制", NOT_A_FIGURE),
    (None, "2024年底前全面细化完善生产经营单位各类从业人员安全生产教育培训的频次",
     "a rule the authorities write, not a figure a unit reports"),
    (None, "2024年底前，全面细化完善生产经营单位各类从业人员安全生产教育培训的频次",
     "a rule the authorities write, not a figure a unit reports"),
    # -- 000 池店镇 --------------------------------------------------------------------------
    ("000", "劳动密集型及“厂中厂”等类型企业至少每半年开展1次疏散逃生演练",
     "villages and the town file the same form as the companies and roll them up, so a "
     "tag condition would hide the figure from them; the yearly drill is encoded"),
    ("000", "2024年底前推动工贸高危行业从业人员安全技能培训深化提升",
     "no level is stated; the trainees are reported (i07_skill_trainees)"),
    ("000", "力争2026年底前，推动工贸行业有关重点企业主要负责人、安全管理人员参加",
     "no headcount to reach is stated; the people assessed are reported (i07_assessed)"),
    ("000", "2025年底前，充分利用全省“互联网+特种作业人员综合管理服务”系统",
     "the use of a provincial system, not a figure a unit reports"),
    ("000", "2026年底前实现工贸企业基础信息、分级分类、监测预警、执法检查、隐患整改的全链条",
     "the enterprises on the platform are reported (i19_enterprises) but the plan states "
     "no number or total to reach"),
    # -- 001 雪峰开发区 ------------------------------------------------------------------------
    ("001", "2024年底前基本消除2023年及以前排查发现的重大事故隐患存量",
     "the form counts major hazards listed and closed (i13), with no figure for the 2023 "
     "stock to measure a clearance against"),
    ("001", "力争2026年底前实现全领域全行业各企事业单位按标准化管理自主运行",
     "a hoped-for state (力争) of every enterprise, with no count in the form"),
    ("001", "2024年底前完善重大事故隐患数据库运行管理机制",
     "the authority's own database, not a figure a unit reports"),
    ("001", "2024年底前建立健全分区域、分行业重大事故隐患统计分析机制",
     "the authority's own mechanism, not a figure a unit reports"),
    ("001", "高危行业领域每月至少1次",
     "the form is reported quarterly: a monthly minimum cannot be judged on it (the "
     "quarterly check of every unit is encoded)"),
    # -- 002 积翠镇 --------------------------------------------------------------------------
    ("002", "督促危化企业2024年底前建设完善安全生产电力监测分析系统",
     "the town's form is filled by villages and the town office, not by the 危化 "
     "enterprises; no count of them is asked"),
    ("002", "2026年底前全镇各企业安全生产风险智能化管控能力显著增强",
     "no level is stated"),
    # -- 003 沧源县 --------------------------------------------------------------------------
    ("003", "2024年底前初步建成工贸重点行业领域安全风险监测预警系统",
     "the county's system; the enterprises connected to it are encoded (i12)"),
    ("003", "2025年底前基本形成自主管理、持续改进的企业安全生产标准化管理体系", NOT_A_FIGURE),
    ("003", "2024年底前，规模以上的工贸企业要全面建立健全重大事故隐患自查自改常态化机制",
     "a mechanism inside each enterprise; its quarterly checks by the principal are encoded"),
    ("003", "2024年底前，建立重大事故隐患统计分析机制",
     "the county bureau's own mechanism, not a figure a unit reports"),
    ("003", "2026年底前，融入全省重大事故隐患数据库系统",
     "the county's database joining the province's, not a figure a unit reports"),
    ("003", "2026年底前督促企业加强安全生产标准化管理体系规范建设", "no level is stated"),
    ("003", "2026年底前，按照上级部署", NOT_A_FIGURE),
    ("003", "县应急管理局每年至少组织一次对粉尘涉爆、有限空间作业等重点行业领域企业主要负责人",
     "a duty of the county bureau, which does not report under the companies' form"),
    ("003", "2025年底前，依托国家“互联网+特种作业人员综合管理服务”系统",
     "the use of a national system, not a figure a unit reports"),
    # -- 004 四平市工信局 ----------------------------------------------------------------------
    ("004", "2024年底前，民爆行业常态化实现重大事故隐患动态清零",
     "a standing state; the hazards supervised and closed are reported (i11)"),
    ("004", "2025年底前，车辆安全源头治理能力进一步提升", "no level is stated"),
    ("004", "三年内逐步实现教育培训全覆盖",
     "the bureaus report the people they trained (i04, i19) but no headcount to cover, "
     "and the plan says 逐步 (step by step)"),
    ("004", "民爆行业生产经营单位主要负责人每月带队对本单位重大事故隐患排查整治情况至少开展1次检查",
     "the summary is reported half-yearly by bureaus: a monthly minimum of each enterprise "
     "cannot be judged on it"),
    ("004", "其它行业企业主要负责人每季度带队对本单位重大事故隐患排查整治情况至少开展1次检查",
     "the summary is reported half-yearly by bureaus: a quarterly minimum of each "
     "enterprise cannot be judged on it"),
    ("004", "2026年底前，全面依法建设满足要求的安全生产应急救援队伍",
     "the teams built are reported (i18_teams) but no number of enterprises to cover"),
)
