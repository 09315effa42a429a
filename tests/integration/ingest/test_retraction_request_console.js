// Runs the console's scripts against a stub DOM: a published item shows 撤稿, the click posts
// the reason, the outlets table shows each outlet's evidence.
"use strict";
const fs = require("fs");
const vm = require("vm");
const [consoleDir] = process.argv.slice(2);

class Element {
  constructor(id) { this.id = id; this.innerHTML = ""; this.hidden = false; this.listeners = {};
    this.textContent = ""; this.value = ""; this.dataset = {}; }
  addEventListener(type, handler) { this.listeners[type] = handler; }
  querySelectorAll() { return []; }
  appendChild() {}
}
const elements = {};
const element = (selector) => (elements[selector] ||= new Element(selector));
const calls = [];
const item = { id: "c1", status: "published", title: "通知", publisher: "办公厅", version: 1,
  content_hash: "abcdef0123456789", body_text: "正文", history: [], deliveries: [] };
const outlets = { content_id: "c1", site: "province", retraction: null, outlets: [
  { target: "portal:province/notices", channel: "portal", name: "四川省人民政府 · 通知公告",
    account_id: null, endpoint_id: null, version: 1, state: "live", post_url: "https://www.sc.gov.cn/a",
    platform_post_id: null, feeds: [], publication: { delivery_id: "d1", version: 1, state: "delivered",
    at: "2026-12-02T21:00:00+08:00", attempts: 0, status_code: null, error: "", response: "" }, takedown: null },
  { target: "weibo:acc2", channel: "weibo", name: "四川发布<微博>", account_id: "acc2", endpoint_id: null,
    version: 1, state: "takedown_failed", post_url: null, platform_post_id: "49", feeds: [],
    publication: null, takedown: { delivery_id: "d2", version: 1, state: "failed", at: null, attempts: 1,
    status_code: 400, error: "20101", response: "{\"error_code\":20101}" } },
] };
async function fetch(path, options = {}) {
  calls.push({ path, method: options.method || "GET", body: options.body });
  const body = path.includes("/outlets/") ? outlets : path.endsWith("/retraction")
    ? { id: "c1", status: "retracted" } : item;
  return { ok: true, status: 200, headers: { get: () => "application/json" }, json: async () => body };
}
const context = { console, fetch, calls, setInterval: () => 1, clearInterval: () => {},
  sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} }, location: {},
  prompt: () => "数据有误", URLSearchParams, FormData: class { constructor() { return []; } },
  document: { querySelector: element, querySelectorAll: () => [], createElement: () => new Element("x") } };
context.window = context;
vm.createContext(context);
for (const name of ["console.js", "console-retract.js"]) {
  vm.runInContext(fs.readFileSync(`${consoleDir}/${name}`, "utf8"), context, { filename: name });
}
(async () => {
  await context.showContent("c1");
  const panel = element("#retraction-panel");
  const before = panel.innerHTML;
  await element("#retract-button").listeners.click();
  console.log(JSON.stringify({ before, hidden: panel.hidden, calls,
    status: vm.runInContext("STATUS.retracted", context) }));
})().catch((error) => { console.error(error); process.exit(1); });
