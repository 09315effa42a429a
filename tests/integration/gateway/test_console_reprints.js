// The 转载联动 tab under the stub DOM: the obligations (due time in Beijing time, a breach marked),
// 接受 and 拒绝 (with the typed reason) posted to the lower site's routes, and the clock report.
"use strict";
const { consoleUnderTest } = require("./console_stub.js");
const [consoleDir] = process.argv.slice(2);

const obligation = { id: "ob1", rule_id: "r1", original_id: "c1", original_version: 1,
  source_site: "province", site: "city", unit: "成都市<人民政府>", columns: ["notices"],
  mode: "proposed", deadline_hours: 12, state: "proposed", detail: "",
  original_published_at: "2026-12-04T10:00:00+08:00", due_at: "2026-12-04T22:00:00+08:00",
  proposed_at: "2026-12-04T10:00:00+08:00", requested_at: null, decided_by: "", live_at: null,
  reprint_id: null, warned_at: null, breached_at: "2026-12-04T22:00:05+08:00" };
const report = { source_site: null, at: "2026-12-05T09:00:00+08:00", rows: [
  { site: "city", unit: "成都市人民政府", due: 3, done_in_time: 1, late: 1, missing: 1, pending: 0, declined: 0 },
] };
const answer = (path) => (path.startsWith("/api/v1/reprints/report") ? report
  : path.startsWith("/api/v1/reprints?") ? { items: [obligation], next_cursor: null } : obligation);
const ui = consoleUnderTest({ consoleDir, scripts: ["console-reprints.js"], tab: "reprints-view",
  answer, prompts: ["本站已有同类内容"] });
(async () => {
  ui.tabButton.listeners.click();
  await ui.settle();
  const rows = ui.element("#reprint-rows").children.map((r) => r.innerHTML);
  const reportHtml = ui.element("#reprint-report").innerHTML;
  const [accept, decline] = ui.buttons;
  await accept.listeners.click();
  await ui.settle();
  await decline.listeners.click();
  await ui.settle();
  console.log(JSON.stringify({ rows, report: reportHtml, calls: ui.calls,
    result: ui.element("#reprint-result").textContent }));
})().catch((error) => { console.error(error); process.exit(1); });
