// The 定时发布 tab under the stub DOM: the list (times in Beijing time, titles escaped), 改期
// PUTs the typed Beijing time with its offset, 取消定时 PUTs a null publish_at; the submit form
// sends its times with the +08:00 offset.
"use strict";
const { consoleUnderTest } = require("./console_stub.js");
const [consoleDir] = process.argv.slice(2);

const schedules = { next_cursor: null, items: [
  { id: "c1", title: "关于<春节>放假的通知", site: "province", status: "approved",
    publish_at: "2026-12-05T01:00:00Z", embargo_until: null, expire_at: "2027-01-05T01:00:00Z",
    revision: 1, state: "waiting" },
] };
const answer = (path) => (path.startsWith("/api/v1/schedules") ? schedules : path === "/api/v1/contents"
  ? { id: "c9", version: 1, status: "ingested" } : { ...schedules.items[0], revision: 2 });
const formEntries = [["title", "通知"], ["kind", "notice"], ["columns", "notices"],
  ["publish_at", "2026-12-05T09:00"], ["expire_at", ""]];
const ui = consoleUnderTest({ consoleDir, scripts: ["console-schedules.js"], tab: "schedules-view",
  answer, prompts: ["2026-12-06 10:30"], formEntries });
(async () => {
  ui.tabButton.listeners.click();
  await ui.settle();
  const rows = ui.element("#schedule-rows").children.map((r) => r.innerHTML);
  const [move, cancel] = ui.buttons;
  await move.listeners.click();
  await ui.settle();
  await cancel.listeners.click();
  await ui.settle();
  await ui.context.submitContent({ preventDefault() {}, target: { reset() {} } });
  console.log(JSON.stringify({ rows, calls: ui.calls, result: ui.element("#schedule-result").textContent }));
})().catch((error) => { console.error(error); process.exit(1); });
