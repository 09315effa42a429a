// Runs the console's scripts against a stub DOM: the 新媒体账号 tab lists accounts, registers
// one (the body the API expects, one Idempotency-Key per form), closes one with a reason; the
// review view shows the task's channel preview with its findings, escaped, before the sign-off.
"use strict";
const fs = require("fs");
const vm = require("vm");
const [consoleDir] = process.argv.slice(2);

class Element {
  constructor(id) {
    this.id = id; this.innerHTML = ""; this.hidden = false; this.listeners = {};
    this.textContent = ""; this.value = ""; this.dataset = {}; this.children = []; this.fields = [];
  }
  addEventListener(type, handler) { (this.listeners[type] ||= []).push(handler); }
  async fire(type, event = {}) {
    for (const handler of this.listeners[type] || []) {
      await handler({ preventDefault() {}, stopPropagation() {}, target: this, ...event });
    }
  }
  querySelectorAll(selector) {
    const match = /^button\[data-(\w+)\]$/.exec(selector);
    if (!match) return [];
    const found = [...this.innerHTML.matchAll(new RegExp(`data-${match[1]}="([^"]*)"`, "g"))];
    return found.map(([, value]) => {
      const button = new Element("button");
      button.dataset[match[1]] = value;
      return button;
    });
  }
  querySelector(selector) {
    if (selector === "#decision-comment") return this.innerHTML.includes("decision-comment") ? comment : null;
    return this.querySelectorAll(selector)[0] || null;
  }
  appendChild(child) { this.children.push(child); }
  insertBefore(child, before) { this.children.push({ child, before }); }
  closest() { return commentLabel; }
  reset() { this.fields = []; }
}
const comment = new Element("#decision-comment");
const commentLabel = new Element("label");
const elements = {};
const element = (selector) => (elements[selector] ||= new Element(selector));
const calls = [];
const accounts = [
  { id: "acc1", platform: "wechat", name: "四川发布<公众号>", unit: "省政府办公厅", sites: ["province"],
    default_columns: ["province/news"], filing_number: "川公网新媒备 0001 号", status: "active",
    status_reason: "", exception_reason: "" },
  { id: "acc2", platform: "weibo", name: "成都发布微博", unit: "市政府办公厅", sites: ["city"],
    default_columns: [], filing_number: "", status: "closed", status_reason: "并号", exception_reason: "" },
];
const task = { id: "t1", content_id: "c1", version: 2, title: "通知", stage: "初审", findings: [],
  body_text: "正文" };
const preview = { content_id: "c1", version: 2, content_hash: "h", site: "province",
  variants: {
    wechat: { platform: "wechat", variant_hash: "0123456789abcdef", content_hash: "h", rendered_at: "",
      body: { title: "标题<script>x</script>", digest: "摘要", content: "<p>正文<b>加粗</b></p>",
        content_source_url: "https://www.sc.gov.cn/a", images: [] },
      findings: [{ field: "title", code: "title_too_long", reason: "标题不能超过 32 个字" }] },
    weibo: { platform: "weibo", variant_hash: "fedcba9876543210", content_hash: "h", rendered_at: "",
      body: { teaser: "【通知】速览", link: "https://www.sc.gov.cn/a", picture: null }, findings: [] },
  },
  accounts: [{ id: "acc1", platform: "wechat", name: "四川发布", unit: "省政府办公厅", via: ["column"],
    variant_hash: "0123456789abcdef", findings: [], ready: false }],
  findings: [{ field: "accounts", code: "unknown_account", reason: "新媒体账号不存在（acc9）" }] };

async function fetch(path, options = {}) {
  calls.push({ path, method: options.method || "GET", body: options.body, headers: options.headers });
  let body = {};
  if (path.startsWith("/api/v1/channels/accounts?")) body = { items: accounts, next_cursor: null };
  else if (path === "/api/v1/channels/accounts") body = { ...accounts[0], ...JSON.parse(options.body) };
  else if (path.startsWith("/api/v1/channels/accounts/")) body = accounts[0];
  else if (path === "/api/v1/reviews/t1") body = task;
  else if (path.startsWith("/api/v1/channels/previews/")) body = preview;
  return { ok: true, status: 200, headers: { get: () => "application/json" }, json: async () => body };
}

class FormData {
  constructor(form) { this.entries = form ? form.fields : []; }
  get(key) { const found = this.entries.find(([k]) => k === key); return found ? found[1] : null; }
  [Symbol.iterator]() { return this.entries[Symbol.iterator](); }
}
class DOMParser {
  parseFromString(html) { return { body: { textContent: html.replace(/<[^>]*>/g, "") } }; }
}
let keys = 0;
const prompts = [];
const context = { console, fetch, calls, URLSearchParams, FormData, DOMParser,
  crypto: { randomUUID: () => `key-${++keys}` },
  sessionStorage: { getItem: () => null, setItem() {}, removeItem() {} }, location: {},
  prompt: (text) => { prompts.push(text); return "单位撤并"; },
  document: { querySelector: element, createElement: (tag) => new Element(tag),
    querySelectorAll: (selector) => (selector.includes("channels-view") ? [element("tab")] : []) } };
context.window = context;
vm.createContext(context);
for (const name of ["console.js", "console-channels.js"]) {
  vm.runInContext(fs.readFileSync(`${consoleDir}/${name}`, "utf8"), context, { filename: name });
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

(async () => {
  element("#channel-platform").value = "wechat";  // a select's first option
  await element("tab").fire("click");  // open the tab: the form is drawn, the accounts listed
  await settle();
  const rows = element("#channel-rows").children.map((row) => row.innerHTML);
  const credentialsWechat = element("#channel-credentials").innerHTML;
  element("#channel-platform").value = "weibo";
  await element("#channel-platform").fire("change");
  const credentialsWeibo = element("#channel-credentials").innerHTML;

  const form = element("#channel-form");
  form.fields = [["platform", "weibo"], ["name", " 四川发布微博 "], ["platform_account_id", "5000000001"],
    ["app_id", "weibodemoapp"], ["unit", "省政府办公厅"], ["sites", "province， city"],
    ["default_columns", "province/news"], ["cred_access_token", "tok"], ["safe_domain", "gov.cn"],
    ["filing_number", ""], ["exception_reason", ""]];
  const weibo = form.fields;
  await form.fire("submit");
  form.fields = [["platform", "wechat"], ["name", "x"], ["sites", "province"], ["cred_appid", "wx"],
    ["cred_secret", "s"]];
  await Promise.all([form.fire("submit"), form.fire("submit")]);  // a double click: one key
  form.fields = weibo;
  await form.fire("submit");  // the first form once more is another registration: another key

  // close the first account from its row
  const row = element("#channel-rows").children[0];
  const buttons = row.querySelectorAll("button[data-status]").map((b) => b.dataset.status);
  const posts = calls.filter((c) => c.method === "POST");
  const before = posts.length;
  await vm.runInContext("changeAccountStatus", context)(accounts[0], "closed");
  const closing = calls.filter((c) => c.method === "POST").slice(before);

  await context.showTask("t1");
  const inserted = element("#review-detail").children.find((c) => c.child && c.child.id === "channel-preview");
  console.log(JSON.stringify({
    rows, buttons, credentialsWechat, credentialsWeibo,
    registrations: posts.map((c) => ({ body: JSON.parse(c.body), key: c.headers["Idempotency-Key"] })),
    closing: closing.map((c) => ({ path: c.path, body: JSON.parse(c.body) })), prompts,
    preview: inserted ? inserted.child.innerHTML : null,
    beforeComment: inserted ? inserted.before === commentLabel : false,
    previewPath: calls.map((c) => c.path).find((p) => p.startsWith("/api/v1/channels/previews/")),
  }));
})().catch((error) => { console.error(error); process.exit(1); });
