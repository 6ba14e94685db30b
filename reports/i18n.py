"""UI strings of the reports, one small dict per language (Chinese first, English beside it)."""

from __future__ import annotations

import locale
import os
import re

LANGS = ("zh", "en")

ZH: dict[str, str] = {
    "run_title": "下单探测报告",
    "compare_title": "下单路径对比",
    "trend_title": "下单可用性趋势",
    "generated": "生成于",
    "run": "运行",
    "when": "时间",
    "target": "目标",
    "matrix": "矩阵",
    "adhoc": "临时（各探针用自己的画像）",
    "emulation_mode": "网络模拟方式：packet = 数据包级链路，cdp = DevTools 请求级",
    "duration": "耗时",
    "journeys": "旅程",
    "verdict": "结论",
    "verdict_pass": "通过：所有旅程符合预期",
    "verdict_fail": "不通过：下单流程有故障",
    "verdict_probe": "无法判断：探针自身出错",
    "verdict_empty": "没有旅程",
    "verdict_interrupted": "已中断：运行未跑完，结果不完整",
    "verdict_unfinished": "未结束：运行没有结束记录（仍在运行，或已被强行终止）",
    "verdict_abandoned": "已放弃：运行进程未结束就消失了（被强行终止），结果不完整",
    "verdict_incomplete": "不完整：有分片尚未上报结果",
    "shards_missing": "缺少的分片",
    "grid": "探针 × 画像",
    "profile": "画像",
    "probe": "探针",
    "status": "状态",
    "cause": "原因",
    "all": "全部",
    "filter": "筛选",
    "shown": "显示",
    "step": "步骤",
    "steps": "步骤数",
    "n_steps": "共 {n} 步",
    "start": "开始",
    "taps": "点击",
    "text_inputs": "输入",
    "page_loads": "页面加载",
    "requests": "请求",
    "kb": "KB",
    "total_time": "总耗时",
    "failure_point": "失败点",
    "block_point": "拦截点",
    "versus": "对比上次通过的运行",
    "ph_dns": "DNS 解析",
    "ph_connect": "建立连接",
    "ph_tls": "TLS 握手",
    "ph_wait": "等待首字节",
    "ph_download": "下载",
    "this_run": "本次",
    "last_pass": "上次通过",
    "not_reached": "未到达",
    "not_recorded": "未记录",
    "worker": "进程",
    "address": "地址",
    "action": "操作",
    "locator": "定位器",
    "url": "页面",
    "error": "错误",
    "rule": "规则",
    "evidence": "证据",
    "dependency": "依赖",
    "screenshot": "截图",
    "filmstrip": "每步截图",
    "no_screenshot": "没有截图",
    "missing_screenshot": "截图文件缺失",
    "last_requests": "最近请求",
    "failed_requests": "失败请求",
    "surfaced_at": "显现于",
    "capture_notes": "取证说明",
    "console_errors": "控制台错误",
    "trace": "回放 Trace",
    "page_text": "页面文字",
    "conditions": "运行条件",
    "expectation": "预期",
    "expect_pass": "下单成功",
    "expect_blocked": "应被拦截",
    "attempts": "之前的尝试",
    "attempt": "第 {n} 次",
    "none": "无",
    "baseline": "基准",
    "diff": "差值",
    "median_of": "{n} 次完成的中位数",
    "range": "范围",
    "unfinished": "未完成",
    "significant": "显著",
    "not_significant": "不显著",
    "untested": "样本太少",
    "stats_hint": "中位数下方为四分位距（IQR）和最小–最大值；与基准的差异用 Mann–Whitney U 检验（双侧，α = {alpha}），"
    "“不显著”表示差异没有超出多次运行之间的波动。",
    "few_runs": "每条路径最少只有 {n} 次完成的旅程：少于 {enough} 次时，中位数和显著性都不可靠。"
    "请用 orderprobe run --repeat N 或多选几次运行（--last N）。",
    "baseline_default": "（默认：最佳网络下步骤最少的路径）",
    "baseline_user": "（手动指定）",
    "paths": "入口路径并排对比",
    "paths_hint": "同一画像下，各入口路径走完下单所需的步骤、点击、输入、页面加载和时间（多次旅程取中位数）；"
    "失败、被拦截和探针出错的旅程单独计数。",
    "per_step": "每步耗时",
    "across_profiles": "同一路径在不同画像下",
    "across_hint": "弱网、旧手机、偏远地区让用户多等多少秒。",
    "no_data": "没有可比较的成功旅程",
    "window": "时间范围",
    "runs": "运行次数",
    "availability": "可用率",
    "availability_hint": "每格为一个时间段内符合预期的旅程占比；灰色为无数据。",
    "maintenance": "维护窗口",
    "maintenance_note": "阴影为维护窗口：其间探测照常运行并记录，但其间的 {n} 个旅程不计入可用率。",
    "step_timing": "各步骤耗时 p50 / p95",
    "step_timing_hint": "每个探针一组，按旅程中的步骤顺序；纵轴为耗时（秒），横轴为时间，只计未失败的步骤。",
    "dashed": "虚线",
    "location": "探测地点",
    "filtered_by": "筛选",
    "pooled": "全部旅程",
    "pooled_note": "下拉框只隐藏可逐行区分的内容（可用率、事故、最近运行按地点、步骤耗时按探测）。"
    "标有「全部旅程」的部分统计的是时间窗口内的全部旅程。要让每个部分都只统计所选内容，请生成筛选后的页面：",
    "by_location": "各地可用率",
    "recent_runs": "最近的运行",
    "failures_by_cause": "按原因统计的失败",
    "dependencies": "第三方依赖健康度",
    "failures": "失败次数",
    "last_seen": "最近一次",
    "incidents": "故障事件（检测与恢复时间）",
    "incidents_hint": "事件 = 某探针×画像的首次失败运行 → 之后的首次成功运行。"
    "检测用时为最坏情况：上次成功开始 → 首次失败结束。",
    "began": "首次失败",
    "ttd": "检测用时",
    "recovered": "恢复于",
    "ttr": "恢复用时",
    "failing_runs": "失败次数",
    "ongoing": "仍在持续",
    "latest_failures": "每类失败的最近一次",
    "open_run": "打开运行报告",
    "count": "次数",
    "no_incidents": "此时间段内没有故障事件",
}

EN: dict[str, str] = {
    "run_title": "Checkout probe run",
    "compare_title": "Checkout path comparison",
    "trend_title": "Checkout availability trend",
    "generated": "Generated",
    "run": "Run",
    "when": "When",
    "target": "Target",
    "matrix": "Matrix",
    "adhoc": "ad-hoc (each probe on its own profile)",
    "emulation_mode": "network emulation: packet = packet-level link, cdp = DevTools request-level",
    "duration": "Duration",
    "journeys": "Journeys",
    "verdict": "Verdict",
    "verdict_pass": "PASS: every journey met its expectation",
    "verdict_fail": "FAIL: checkout is broken",
    "verdict_probe": "INCONCLUSIVE: probes are broken",
    "verdict_empty": "No journeys",
    "verdict_interrupted": "INTERRUPTED: the run was stopped before it finished; results are incomplete",
    "verdict_unfinished": "UNFINISHED: the run has no end (still running, or killed); results may be incomplete",
    "verdict_abandoned": "ABANDONED: the run's process died before it finished (killed); results are incomplete",
    "verdict_incomplete": "INCOMPLETE: some shards have not reported",
    "shards_missing": "Missing shards",
    "grid": "Probe × profile",
    "profile": "Profile",
    "probe": "Probe",
    "status": "Status",
    "cause": "Cause",
    "all": "All",
    "filter": "Filter",
    "shown": "shown",
    "step": "Step",
    "steps": "Steps",
    "n_steps": "steps: {n}",
    "start": "Start",
    "taps": "Taps",
    "text_inputs": "Inputs",
    "page_loads": "Page loads",
    "requests": "Requests",
    "kb": "KB",
    "total_time": "Total time",
    "failure_point": "Failure point",
    "block_point": "Where it was blocked",
    "versus": "Side by side with the last passing run",
    "ph_dns": "DNS",
    "ph_connect": "connect",
    "ph_tls": "TLS",
    "ph_wait": "wait (first byte)",
    "ph_download": "download",
    "this_run": "This run",
    "last_pass": "Last pass",
    "not_reached": "not reached",
    "not_recorded": "not recorded",
    "worker": "worker",
    "address": "URL",
    "action": "Action",
    "locator": "Locator",
    "url": "URL",
    "error": "Error",
    "rule": "Rule",
    "evidence": "Evidence",
    "dependency": "Dependency",
    "screenshot": "Screenshot",
    "filmstrip": "Filmstrip (the page at the end of each step)",
    "no_screenshot": "No screenshot",
    "missing_screenshot": "Screenshot file missing",
    "last_requests": "Last requests",
    "failed_requests": "Failed requests",
    "surfaced_at": "surfaced at",
    "capture_notes": "Evidence notes",
    "console_errors": "Console errors",
    "trace": "Trace",
    "page_text": "Page text",
    "conditions": "Conditions",
    "expectation": "Expectation",
    "expect_pass": "order placed",
    "expect_blocked": "must be blocked",
    "attempts": "Earlier attempts",
    "attempt": "attempt {n}",
    "none": "none",
    "baseline": "baseline",
    "diff": "Δ",
    "median_of": "median of {n} completed",
    "range": "range",
    "unfinished": "unfinished",
    "significant": "significant",
    "not_significant": "not significant",
    "untested": "too few to test",
    "stats_hint": "Under each median: interquartile range (IQR) and min–max. Differences to the baseline are tested "
    "with Mann–Whitney U (two-sided, α = {alpha}); 'not significant' means within run-to-run noise.",
    "few_runs": "The thinnest path has only {n} completed journeys: below {enough}, medians and significance are "
    "not reliable. Use orderprobe run --repeat N or select more runs (--last N).",
    "baseline_default": "(default: the path with the fewest steps on the best network)",
    "baseline_user": "(chosen)",
    "paths": "Entry paths side by side",
    "paths_hint": "Under one profile: the steps, taps, text inputs, page loads and time each entry path costs "
    "(median of journeys); failed, blocked and probe-error journeys are counted apart.",
    "per_step": "Time per step",
    "across_profiles": "The same path across profiles",
    "across_hint": "How many seconds a weak network, an old phone or a remote region costs the shopper.",
    "no_data": "No successful journeys to compare",
    "window": "Window",
    "runs": "Runs",
    "availability": "Availability",
    "availability_hint": "Each cell: share of journeys that met their expectation in that period; grey = no data.",
    "maintenance": "Maintenance",
    "maintenance_note": "Shaded: maintenance windows. Probes ran and were recorded, but the {n} journeys "
    "inside them are left out of availability.",
    "step_timing": "Step time p50 / p95",
    "step_timing_hint": "One group per probe, steps in journey order; y: step time (seconds), x: time; "
    "steps that failed are left out.",
    "dashed": "dashed",
    "location": "Location",
    "filtered_by": "Filtered",
    "pooled": "all journeys",
    "pooled_note": "The menus hide what can be told apart row by row (availability, incidents, recent runs by "
    "location, step times by probe). Sections marked 'all journeys' count every journey in the window. For a page "
    "where every section counts only the selection, write a filtered one:",
    "by_location": "Availability by location",
    "recent_runs": "Recent runs",
    "failures_by_cause": "Failures by cause",
    "dependencies": "Third-party dependency health",
    "failures": "Failures",
    "last_seen": "Last seen",
    "incidents": "Incidents (time to detect and recover)",
    "incidents_hint": "Incident = first failing run of a probe × profile → first passing run after it. "
    "Time to detect is the worst case: last pass started → first failure finished.",
    "began": "First failure",
    "ttd": "Detect",
    "recovered": "Recovered",
    "ttr": "Recover",
    "failing_runs": "Failing runs",
    "ongoing": "ongoing",
    "latest_failures": "Latest failure of each kind",
    "open_run": "open run report",
    "count": "Count",
    "no_incidents": "No incidents in this window",
}

# Keys whose text is the same in both languages on purpose (units, symbols).
UNIVERSAL = {"kb"}

STATUS = {
    "zh": {
        "passed": "通过",
        "failed": "失败",
        "blocked": "按预期拦截",
        "degraded": "变慢",
        "error": "探针出错",
        "flaky": "不稳定",
        "slow": "超时预算",
    },
    "en": {
        "passed": "passed",
        "failed": "failed",
        "blocked": "blocked as expected",
        "degraded": "degraded",
        "error": "probe error",
        "flaky": "flaky",
        "slow": "over budget",
    },
}

CAUSE = {
    "zh": {
        "network": "网络",
        "compatibility": "设备兼容",
        "payment": "支付通道",
        "account": "账户与风控",
        "inventory": "库存",
        "region": "地区政策",
        "system": "系统 / API",
        "third_party": "第三方依赖",
        "ux_path": "路径体验",
        "probe_broken": "探针损坏",
        "unknown": "未知",
    },
    "en": {
        "network": "network",
        "compatibility": "device compatibility",
        "payment": "payment channel",
        "account": "account & risk control",
        "inventory": "inventory",
        "region": "regional policy",
        "system": "system / API",
        "third_party": "third party",
        "ux_path": "UX path",
        "probe_broken": "probe broken",
        "unknown": "unknown",
    },
}


_AT_STEP = re.compile(r"\s*at step '([^']*)'|\s*at '([^']*)'")


def summary(text: str, lang: str) -> str:
    """A rule's one-sentence summary in one language.

    Rules write it bilingually, "中文 at step 'pay' — English"; Chinese reports keep the part before
    the dash, English ones the part after, each naming the step in its own words. A summary in
    any other shape is shown as written.
    """
    zh, dash, en = text.partition(" — ")
    if not dash:
        return text
    found = _AT_STEP.search(zh)
    step = (found.group(1) or found.group(2)) if found else None
    if lang == "zh":
        zh = _AT_STEP.sub("", zh).strip()
        return f"{zh}（步骤「{step}」）" if step else zh
    return f"{en.strip()} (step '{step}')" if step else en.strip()


def default_lang() -> str:
    """English when the locale says so; Chinese otherwise (the product's first language)."""
    name = os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG") or ""
    name = name or (locale.getlocale()[0] or "")
    return "en" if name.lower().startswith("en") else "zh"


def texts(lang: str) -> dict[str, str]:
    return ZH if lang == "zh" else EN


def status_label(lang: str, status: str) -> str:
    return STATUS[lang].get(status, status)


def cause_label(lang: str, category: str | None) -> str:
    return CAUSE[lang].get(category or "unknown", category or "")
