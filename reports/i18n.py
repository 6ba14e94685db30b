"""UI strings of the reports, one small dict per language (Chinese first, English beside it)."""

from __future__ import annotations

import locale
import os
import re

from orderprobe.base.taxonomy import LOOK

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
    "verdict_passed": "通过：所有旅程符合预期",
    "verdict_failed": "不通过：下单流程有故障",
    "verdict_error": "无法判断：探针自身出错",
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
    "not_exercised_title": "这一行要测的场景没有发生：不算通过，也不算失败",
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
    "web_vitals": "网页核心指标（每步）",
    "web_vitals_hint": "在页面内用 Google web-vitals 测得：LCP 最大内容绘制、CLS 累计布局偏移、INP 交互到下一次绘制、"
    "FCP 首次内容绘制、TTFB 首字节时间；颜色按 Google 的阈值（好 / 需改进 / 差）。",
    "web_vitals_trend": "网页核心指标：每步、每个画像",
    "web_vitals_trend_hint": "窗口内未失败步骤的 p50 / p95；p95 按 Google 的阈值着色。",
    "har_hint": "该旅程的请求记录（HAR，不含响应内容，已去除密钥与会话头），可在 Chrome 开发者工具的 Network 面板导入",
    "otel_trace": "链路追踪 ID",
    "otel_trace_hint": "在商城自己的链路追踪里按此 ID 查找：每一步是一个 span，商城收到的请求带着该步的 traceparent",
    "a11y": "无障碍检查（axe-core，WCAG A / AA；不影响下单结论）",
    "a11y_rule": "规则",
    "a11y_impact": "影响",
    "a11y_nodes": "元素数",
    "a11y_none": "未发现问题",
    "visual": "截图比对（与基准图；不影响下单结论）",
    "visual_name": "名称",
    "visual_pixels": "不同像素",
    "visual_baseline": "基准图",
    "visual_match": "一致",
    "visual_mismatch": "不一致",
    "visual_new": "已写入基准",
    "visual_updated": "已更新基准",
    "visual_error": "未能截图",
    "visual_expected": "基准",
    "visual_actual": "本次",
    "visual_diff": "差异",
    "vital_good": "好",
    "vital_needs_improvement": "需改进",
    "vital_poor": "差",
    "no_screenshot": "没有截图",
    "missing_screenshot": "截图文件缺失",
    "last_requests": "最近请求",
    "failed_requests": "失败请求",
    "surfaced_at": "显现于",
    "capture_notes": "取证说明",
    "evidence_time": "取证",
    "evidence_time_hint": "采集失败证据所用的时间，不计入步骤耗时",
    "emulated_link": "模拟网络记录",
    "link_tag": "网络",
    "console_errors": "控制台错误",
    "trace": "回放 Trace",
    "page_text": "页面文字",
    "conditions": "运行条件",
    "cpu_off": "CPU 降速关闭",
    "cpu_off_runs": "个旅程未按设备画像降低 CPU 速度（--cpu-slowdown off），耗时不可当作慢机数据",
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
    "stats_hint": "中位数下方为四分位距（IQR）和最小–最大值。多次运行中始终不变的差值标为“精确”："
    "每次测得都一样，无需检验。"
    "其余差异用精确的 Mann–Whitney U 检验（双侧，α = {alpha}），并给出 p、n（本路径 / 基准）和效应量"
    "（× = 中位数之比，δ = Cliff's delta）；“不显著”表示差异没有超出多次运行之间的波动。",
    "few_runs": "每条路径最少只有 {n} 次完成的旅程：少于 {enough} 次时，中位数和显著性都不可靠。"
    "请用 orderprobe run --repeat N 或多选几次运行（--last N）。",
    "baseline_default": "（默认：最佳网络下步骤最少的路径；--baseline 可另选）",
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
    "pooled_note": "下拉框只隐藏可逐行区分的内容（可用率、故障区间、最近运行按地点、步骤耗时按探测）。"
    "标有「全部旅程」的部分统计的是时间窗口内的全部旅程。要让每个部分都只统计所选内容，请生成筛选后的页面：",
    "by_location": "各地可用率",
    "recent_runs": "最近的运行",
    "failures_by_cause": "按原因统计的失败",
    "dependencies": "第三方依赖健康度",
    "failures": "失败次数",
    "last_seen": "最近一次",
    "outages": "故障区间（检测与恢复时间）",
    "outages_hint": "故障区间 = 某探针×画像的首次失败运行 → 之后的首次成功运行。"
    "只有仍按原来间隔运行的才算“仍在持续”；一次性运行或已停止的任务标为“之后未再运行”。"
    "检测用时为最坏情况：上次成功开始 → 首次失败结束。",
    "began": "首次失败",
    "ttd": "检测用时",
    "recovered": "恢复于",
    "ttr": "恢复用时",
    "failing_runs": "失败次数",
    "ongoing": "仍在持续",
    "last_run_at": "最近一次运行",
    "not_rerun": "未再运行 · 最后一次",
    "not_rerun_why": "之后没有再运行，无从判断仍在持续还是已恢复",
    "latest_failures": "每类失败的最近一次",
    "open_run": "打开运行报告",
    "count": "次数",
    "no_outages": "此时间段内没有故障区间",
    "scroll_cue": "← 左右滑动查看整张表 →",
    "no_trace": "未录制：默认的 on-first-retry 只在失败后重试时录制 Trace。要录制，请加",
    "metric_page_loads": "步骤（页面）",
    "metric_taps": "操作（点击）",
    "metric_steps": "探针步骤",
    "steps_defined": "步骤按调研报告的算法计：用户经过的每一个页面（视频 → 购物车 "
    "→ 结算 → 支付），即浏览器中测得的页面加载次数，"
    "含入口页和下单成功页；操作 = 用户的点击次数；探针步骤 = 探针代码里的 "
    "journey.step 块，反映探针的写法，不是用户的路径。",
    "ladder": "从最短的路径往上：每条路径比下一条更短的路径多几步",
    "vs": "相比",
    "exact": "精确",
    "cannot_tell": "无法判断",
    "few_exact": "每边 {n} 次时，精确检验的 p 值最小只能到 {min_p}，达不到 α "
    "= {alpha}：耗时、请求数这类有波动的差异无论多大都无法判定为显著，"
    "“无法判断”不等于“没有差异”。标“精确”的差值在每次运行中都一样，仍然可信。",
    "few_weak": "每边 {n} 次时，精确检验的 p 值最小为 {min_p}：只有很大且每次都一致的差异才能判定为显著。"
    "标“精确”的差值在每次运行中都一样。",
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
    "verdict_passed": "PASS: every journey met its expectation",
    "verdict_failed": "FAIL: checkout is broken",
    "verdict_error": "INCONCLUSIVE: probes are broken",
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
    "not_exercised_title": "The scenario this row tests did not happen: neither a pass nor a failure",
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
    "web_vitals": "Web Vitals per step",
    "web_vitals_hint": "Measured in the page with Google's web-vitals: LCP largest contentful paint, CLS cumulative "
    "layout shift, INP interaction to next paint, FCP first contentful paint, TTFB time to first byte; coloured by "
    "Google's thresholds (good / needs improvement / poor).",
    "web_vitals_trend": "Web Vitals per step and profile",
    "web_vitals_trend_hint": "p50 / p95 over the window's steps that did not fail; "
    "the p95 coloured by Google's thresholds.",
    "har_hint": "the journey's requests (HAR, bodies left out, secrets and session headers masked); "
    "import it in Chrome DevTools' Network panel",
    "otel_trace": "Trace id",
    "otel_trace_hint": "search the shop's own tracing for it: each step is a span, and the shop's requests carried "
    "the step's traceparent",
    "a11y": "Accessibility (axe-core, WCAG A / AA; never the checkout's verdict)",
    "a11y_rule": "Rule",
    "a11y_impact": "Impact",
    "a11y_nodes": "Elements",
    "a11y_none": "no violations",
    "visual": "Screenshot checks (against the baseline; never the checkout's verdict)",
    "visual_name": "Name",
    "visual_pixels": "Pixels differing",
    "visual_baseline": "Baseline",
    "visual_match": "matches",
    "visual_mismatch": "differs",
    "visual_new": "baseline written",
    "visual_updated": "baseline updated",
    "visual_error": "not taken",
    "visual_expected": "baseline",
    "visual_actual": "this run",
    "visual_diff": "diff",
    "vital_good": "good",
    "vital_needs_improvement": "needs improvement",
    "vital_poor": "poor",
    "no_screenshot": "No screenshot",
    "missing_screenshot": "Screenshot file missing",
    "last_requests": "Last requests",
    "failed_requests": "Failed requests",
    "surfaced_at": "surfaced at",
    "capture_notes": "Evidence notes",
    "evidence_time": "evidence",
    "evidence_time_hint": "time spent capturing the failure's evidence, not counted in the step's time",
    "emulated_link": "Emulated network",
    "link_tag": "link",
    "console_errors": "Console errors",
    "trace": "Trace",
    "page_text": "Page text",
    "conditions": "Conditions",
    "cpu_off": "CPU slowdown off",
    "cpu_off_runs": "journey(s) ran without their device's CPU slowdown (--cpu-slowdown off): not slow-device timings",
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
    "stats_hint": "Under each median: interquartile range (IQR) and min–max. A difference that never varied across "
    "the repetitions is marked exact: it was measured the same every time, no test needed. Other differences are "
    "tested with an exact Mann–Whitney U test (two-sided, α = {alpha}), shown with p, n (this path / baseline) and "
    "the effect size (× = ratio of medians, δ = Cliff's delta); 'not significant' means within run-to-run noise.",
    "few_runs": "The thinnest path has only {n} completed journeys: below {enough}, medians and significance are "
    "not reliable. Use orderprobe run --repeat N or select more runs (--last N).",
    "baseline_default": "(default: the path with the fewest steps on the best network; --baseline chooses another)",
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
    "pooled_note": "The menus hide what can be told apart row by row (availability, outages, recent runs by "
    "location, step times by probe). Sections marked 'all journeys' count every journey in the window. For a page "
    "where every section counts only the selection, write a filtered one:",
    "by_location": "Availability by location",
    "recent_runs": "Recent runs",
    "failures_by_cause": "Failures by cause",
    "dependencies": "Third-party dependency health",
    "failures": "Failures",
    "last_seen": "Last seen",
    "outages": "Outages (time to detect and recover)",
    "outages_hint": "Outage = first failing run of a probe × profile → first passing run after it. "
    "It is ongoing only while the series still runs on its usual interval; a one-off run or a stopped job "
    "reads 'not re-run'. "
    "Time to detect is the worst case: last pass started → first failure finished.",
    "began": "First failure",
    "ttd": "Detect",
    "recovered": "Recovered",
    "ttr": "Recover",
    "failing_runs": "Failing runs",
    "ongoing": "ongoing",
    "last_run_at": "last run",
    "not_rerun": "not re-run · last run",
    "not_rerun_why": "no later run says whether it went on or recovered",
    "latest_failures": "Latest failure of each kind",
    "open_run": "open run report",
    "count": "Count",
    "no_outages": "No outages in this window",
    "scroll_cue": "← swipe sideways to see the whole table →",
    "no_trace": "not recorded: the default tracing (on-first-retry) records one only when a failure is retried. "
    "For a trace, run with",
    "metric_page_loads": "Steps (screens)",
    "metric_taps": "Operations (taps)",
    "metric_steps": "Probe steps",
    "steps_defined": "Steps are counted as the field study counts them: "
    "each screen the shopper lands on (video → cart → "
    "checkout → pay), measured in the browser as a page load, the entry page and the order confirmation included. "
    "Operations = the shopper's taps. Probe steps = the probe's journey.step blocks: how the probe is written, not the "
    "shopper's path.",
    "ladder": "From the shortest path up: how many more steps each path costs than the next shorter one",
    "vs": "vs",
    "exact": "exact",
    "cannot_tell": "cannot tell",
    "few_exact": "With {n} journeys a side, an exact test cannot go below p = {min_p}, above α = {alpha}: a difference "
    "that varies (time, requests) cannot be shown however large, and 'cannot tell' does not mean 'no difference'. "
    "Differences marked exact were the same in every run and stand.",
    "few_weak": "With {n} journeys a side, the smallest p an exact test can give is {min_p}: only a large difference "
    "seen every time can be shown. Differences marked exact were the same in every run.",
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
        "not_exercised": "场景未发生",
    },
    "en": {
        "passed": "passed",
        "failed": "failed",
        "blocked": "blocked as expected",
        "degraded": "degraded",
        "error": "probe error",
        "flaky": "flaky",
        "slow": "over budget",
        "not_exercised": "not exercised",
    },
}

# Cause categories in words: from the one table in orderprobe.base.taxonomy.
CAUSE = {lang: {c.value: getattr(look, lang) for c, look in LOOK.items()} for lang in LANGS}


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


# A cause's detail code (causes.yaml `detail:`, and the few the engine sets itself) in words.
# tests/test_report_layout.py walks every built-in rule and engine detail and requires both.
DETAIL = {
    "zh": {
        "cross_province": "异地登录验证",
        "ip_banned": "IP 被封禁",
        "login_required": "需要登录",
        "manual_review": "人工审核",
        "real_name": "需要实名认证",
        "risk_control": "风控拦截",
        "teen": "青少年模式",
        "verification": "需要验证",
        "upgrade_required": "系统版本过旧",
        "restock": "待补货",
        "sold_out": "已售罄",
        "stock_lag": "库存滞后",
        "dns": "DNS 解析失败",
        "injected_fault": "注入的故障",
        "offline": "断网",
        "proxy": "代理故障",
        "timeout": "超时",
        "tls": "TLS 握手失败",
        "card_expired": "银行卡过期",
        "declined": "支付被拒",
        "insufficient_balance": "余额不足",
        "maintenance": "维护中",
        "not_bound": "未绑定支付方式",
        "browser_crash": "浏览器崩溃",
        "harness_error": "探测框架出错",
        "script_error": "探针脚本出错",
        "secret_missing": "缺少密钥",
        "selector_ambiguous": "定位器匹配多个元素",
        "selector_drift": "定位器失效",
        "customs": "海关限制",
        "license": "需要许可证",
        "no_ambient": "不支持常温配送",
        "pickup_only": "仅限自提",
        "refused": "不配送",
        "surcharge": "特殊物流加价",
        "api_5xx": "接口 5xx 错误",
        "api_timeout": "接口超时",
        "down": "服务不可用",
        "inventory_sync": "库存同步延迟",
        "page_error": "页面报错",
        "sdk_conflict": "SDK 冲突",
        "gateway_down": "支付网关故障",
        "sms_delay": "短信延迟",
        "budget": "超出时间预算",
        "coupon_broken": "优惠券流程中断",
        "invalid_input": "输入无效",
        "not_ready": "页面未就绪",
        "step_missing": "缺少步骤",
        "unclassified": "未归类",
        "not_blocked": "未按预期拦截",
        "worker_crashed": "工作进程崩溃",
        "interrupted": "运行被中断",
        "journey_timeout": "旅程超时",
        "account_refused": "测试账号登录被拒（检查密码）",
        "coupon_threshold": "未达优惠券使用门槛",
        "not_offered": "商家不配送该地区",
        "page_unresponsive": "页面无响应（主线程忙）",
    },
    "en": {
        "cross_province": "cross-province login check",
        "ip_banned": "IP banned",
        "login_required": "login required",
        "manual_review": "manual review",
        "real_name": "real-name verification required",
        "risk_control": "risk control",
        "teen": "teen mode",
        "verification": "verification required",
        "upgrade_required": "OS too old",
        "restock": "awaiting restock",
        "sold_out": "sold out",
        "stock_lag": "stock out of date",
        "dns": "DNS failure",
        "injected_fault": "injected fault",
        "offline": "offline",
        "proxy": "proxy failure",
        "timeout": "timeout",
        "tls": "TLS failure",
        "card_expired": "card expired",
        "declined": "payment declined",
        "insufficient_balance": "insufficient balance",
        "maintenance": "maintenance",
        "not_bound": "no payment method bound",
        "browser_crash": "browser crash",
        "harness_error": "harness error",
        "script_error": "probe script error",
        "secret_missing": "secret missing",
        "selector_ambiguous": "locator matches several elements",
        "selector_drift": "locator drift",
        "customs": "customs limit",
        "license": "licence required",
        "no_ambient": "no ambient-temperature delivery",
        "pickup_only": "pickup point only",
        "refused": "not delivered",
        "surcharge": "special logistics surcharge",
        "api_5xx": "API 5xx",
        "api_timeout": "API timeout",
        "down": "service down",
        "inventory_sync": "inventory sync delay",
        "page_error": "page error",
        "sdk_conflict": "SDK conflict",
        "gateway_down": "payment gateway down",
        "sms_delay": "SMS delay",
        "budget": "over time budget",
        "coupon_broken": "coupon flow broken",
        "invalid_input": "invalid input",
        "not_ready": "page not ready",
        "step_missing": "step missing",
        "unclassified": "unclassified",
        "not_blocked": "not blocked as expected",
        "worker_crashed": "worker crashed",
        "interrupted": "run interrupted",
        "journey_timeout": "journey timed out",
        "account_refused": "test account refused at login (check its password)",
        "coupon_threshold": "coupon minimum spend not reached",
        "not_offered": "region not offered by the shop",
        "page_unresponsive": "page unresponsive (main thread busy)",
    },
}


def detail_label(lang: str, detail: str | None) -> str:
    """A detail code in words; a code of the user's own rules is shown as written."""
    return DETAIL[lang].get(detail or "", detail or "")
