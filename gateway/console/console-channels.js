// 工作台 · 新媒体: the account registry (新媒体账号备案) and, in the review view, the channel
// preview of the task's version. Uses console.js's `api`, `escapeHtml`, `$`, `showError`.
"use strict";

const PLATFORM = { wechat: "微信公众号", weibo: "微博" };
const ACCOUNT_STATUS = { active: "正常", suspended: "已暂停", closed: "已注销" };
const ACCOUNT_ACTIONS = {
  active: [["suspended", "暂停"], ["closed", "注销"]],
  suspended: [["active", "恢复"], ["closed", "注销"]],
  closed: [],
};
let channelCursor = null;
// one Idempotency-Key per registration as filled in: a double click or a retry of the same
// form registers once; a corrected form is another request, so it gets another key
let lastRegistration = { body: "", key: "" };

function newKey() {
  return crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

const channelsMarkup = `
  <h2>新媒体账号备案</h2>
  <form id="channel-filter">
    <label>平台 <select name="platform"><option value="">全部</option>
      <option value="wechat">微信公众号</option><option value="weibo">微博</option></select></label>
    <label>主办单位 <input name="unit"></label>
    <label>服务站点 <input name="site" placeholder="站点标识，如 province"></label>
    <label>状态 <select name="status"><option value="">全部</option>
      <option value="active">正常</option><option value="suspended">已暂停</option>
      <option value="closed">已注销</option></select></label>
    <button type="submit">查询</button>
  </form>
  <table><thead><tr><th>账号名称</th><th>平台</th><th>主办单位</th><th>服务站点</th><th>默认栏目</th>
    <th>备案号</th><th>状态</th><th>操作</th></tr></thead><tbody id="channel-rows"></tbody></table>
  <button id="channel-more" hidden>更多</button>
  <h3>登记新账号</h3>
  <form id="channel-form">
    <label>平台 <select name="platform" id="channel-platform">
      <option value="wechat">微信公众号</option><option value="weibo">微博</option></select></label>
    <label>账号名称 <input name="name" required maxlength="200"></label>
    <label>平台账号 ID（公众号 AppID / 微博 UID） <input name="platform_account_id" required></label>
    <label>应用 ID（微博 App Key；公众号可不填） <input name="app_id"></label>
    <label>主办单位 <input name="unit" required maxlength="200"></label>
    <label>服务站点（逗号分隔） <input name="sites" required placeholder="province, city"></label>
    <label>默认栏目（站点/栏目，逗号分隔） <input name="default_columns" placeholder="province/news"></label>
    <fieldset id="channel-credentials"></fieldset>
    <label>安全域名（微博必填） <input name="safe_domain" placeholder="gov.cn"></label>
    <label>备案号 <input name="filing_number" maxlength="100"></label>
    <label>运营者 <input name="operator" maxlength="200"></label>
    <label>联系方式 <input name="contact" maxlength="200"></label>
    <label>同一单位第二个账号的例外理由（如需） <textarea name="exception_reason" rows="2"></textarea></label>
    <button type="submit">提交备案</button>
  </form>
  <p id="channel-result" role="status"></p>`;

function credentialInputs() {
  const wechat = $("#channel-platform").value === "wechat";
  $("#channel-credentials").innerHTML = "<legend>平台凭据（仅用于校验与发布，提交后不再显示）</legend>" + (wechat
    ? `<label>AppID <input name="cred_appid" required autocomplete="off"></label>
       <label>AppSecret <input name="cred_secret" type="password" required autocomplete="off"></label>`
    : `<label>Access Token <input name="cred_access_token" type="password" required autocomplete="off"></label>`);
}

function listOf(text) {
  return String(text || "").split(/[,，\s]+/).map((s) => s.trim()).filter(Boolean);
}

function accountRow(account) {
  const row = document.createElement("tr");
  const actions = ACCOUNT_ACTIONS[account.status].map(([status, label]) =>
    `<button data-status="${status}">${label}</button>`).join(" ");
  const exception = account.exception_reason ? `<br><small>例外：${escapeHtml(account.exception_reason)}</small>` : "";
  const reason = account.status_reason ? `<br><small>${escapeHtml(account.status_reason)}</small>` : "";
  row.innerHTML = `<td>${escapeHtml(account.name)}${exception}</td><td>${PLATFORM[account.platform]}</td>
    <td>${escapeHtml(account.unit)}</td><td>${escapeHtml(account.sites.join("、"))}</td>
    <td>${escapeHtml(account.default_columns.join("、") || "—")}</td><td>${escapeHtml(account.filing_number || "—")}</td>
    <td>${ACCOUNT_STATUS[account.status]}${reason}</td><td>${actions}</td>`;
  row.querySelectorAll("button[data-status]").forEach((button) => {
    button.addEventListener("click", (event) => {
      event.stopPropagation();
      changeAccountStatus(account, button.dataset.status);
    });
  });
  return row;
}

async function loadAccounts(reset) {
  if (reset) { channelCursor = null; $("#channel-rows").innerHTML = ""; }
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#channel-filter"))) if (value) params.set(key, value);
  if (channelCursor) params.set("cursor", channelCursor);
  try {
    const page = await api(`/api/v1/channels/accounts?${params}`);
    for (const account of page.items) $("#channel-rows").appendChild(accountRow(account));
    if (reset && !page.items.length) $("#channel-rows").innerHTML = "<tr><td colspan=8>暂无账号</td></tr>";
    channelCursor = page.next_cursor;
    $("#channel-more").hidden = !channelCursor;
  } catch (error) { showError(error); }
}

async function changeAccountStatus(account, status) {
  const verb = { active: "恢复", suspended: "暂停", closed: "注销" }[status];
  let reason = "";
  if (status !== "active") {
    const note = status === "closed" ? "（注销后不可恢复，未发出的稿件将取消）" : "";
    reason = prompt(`${verb}账号“${account.name}”的理由${note}：`) || "";
    if (!reason.trim()) return;
  }
  try {
    await api(`/api/v1/channels/accounts/${encodeURIComponent(account.id)}/status`, { method: "POST",
      headers: { "Content-Type": "application/json" }, body: JSON.stringify({ status, reason }) });
    $("#channel-result").textContent = `已${verb}：${account.name}`;
    await loadAccounts(true);
  } catch (error) { showError(error); }
}

function registration(form) {
  const data = new FormData(form);
  const body = {};
  for (const key of ["platform", "name", "platform_account_id", "app_id", "unit", "safe_domain",
    "filing_number", "operator", "contact", "exception_reason"]) {
    const value = String(data.get(key) || "").trim();
    if (value) body[key] = value;
  }
  body.sites = listOf(data.get("sites"));
  body.default_columns = listOf(data.get("default_columns"));
  body.credentials = {};
  for (const [key, value] of data) if (key.startsWith("cred_")) body.credentials[key.slice(5)] = String(value);
  return body;
}

function keyFor(body) {
  if (body !== lastRegistration.body) lastRegistration = { body, key: newKey() };
  return lastRegistration.key;
}

async function registerAccount(event) {
  event.preventDefault();
  showError(null);
  const body = JSON.stringify(registration(event.target));
  try {
    const account = await api("/api/v1/channels/accounts", { method: "POST",
      headers: { "Content-Type": "application/json", "Idempotency-Key": keyFor(body) }, body });
    $("#channel-result").textContent = `已备案：${account.name}（${PLATFORM[account.platform]}，编号 ${account.id}）`;
    event.target.reset();
    credentialInputs();
    await loadAccounts(true);
  } catch (error) { showError(error); }
}

// --- the channel preview in the review view ---------------------------------------------------

function findingList(findings) {
  return findings.map((f) => `<li><mark class="block">${escapeHtml(f.reason)}</mark></li>`).join("");
}

function plainText(html) {
  // an inert document: nothing in it runs or loads
  return new DOMParser().parseFromString(html || "", "text/html").body.textContent || "";
}

function variantHtml(platform, variant) {
  const body = variant.body || {};
  const shown = platform === "wechat"
    ? `<p><b>${escapeHtml(body.title)}</b></p><p>摘要：${escapeHtml(body.digest || "")}</p>
       <div class="body-text">${escapeHtml(plainText(body.content))}</div>
       <p>原文链接：${escapeHtml(body.content_source_url || "")} · 图片 ${(body.images || []).length} 张</p>`
    : `<div class="body-text">${escapeHtml(body.teaser || "")} ${escapeHtml(body.link || "")}</div>
       <p>${body.picture ? `配图：${escapeHtml(body.picture)}` : "无配图"}</p>`;
  const findings = variant.findings.length
    ? `<ul class="findings">${findingList(variant.findings)}</ul>` : "<p>可以发布，无问题。</p>";
  return `<h5>${PLATFORM[platform] || escapeHtml(platform)} · 版本指纹 <code>${escapeHtml(variant.variant_hash.slice(0, 12))}</code></h5>
    ${shown}${findings}`;
}

function previewAccountsHtml(preview) {
  const via = { named: "报送指定", column: "栏目默认" };
  const rows = preview.accounts.map((a) => `<li>${PLATFORM[a.platform]}“${escapeHtml(a.name)}”
    （${escapeHtml(a.unit)}，${a.via.map((v) => via[v]).join("、")}）：${a.ready ? "将发出" : "<mark class=\"block\">不会发出</mark>"}
    ${a.findings.length ? `<ul>${findingList(a.findings)}</ul>` : ""}</li>`).join("");
  const refused = preview.findings.length ? `<ul class="findings">${findingList(preview.findings)}</ul>` : "";
  return `<h5>发往账号</h5><ul>${rows || "<li>无新媒体账号</li>"}</ul>${refused}`;
}

async function showChannelPreview(taskId) {
  const detail = $("#review-detail");
  try {
    const task = await api(`/api/v1/reviews/${taskId}`);
    const preview = await api(`/api/v1/channels/previews/${encodeURIComponent(task.content_id)}/${task.version}`);
    const section = document.createElement("section");
    section.id = "channel-preview";
    section.innerHTML = `<h4>新媒体预览（第${preview.version}版）</h4>` +
      Object.entries(preview.variants).map(([p, v]) => variantHtml(p, v)).join("") +
      previewAccountsHtml(preview);
    // before the sign-off: the comment box and the decision buttons come after it
    const comment = detail.querySelector("#decision-comment");
    detail.insertBefore(section, comment ? comment.closest("label") : null);
  } catch (error) {
    const note = document.createElement("p");
    note.textContent = `新媒体预览暂不可用：${error.message || error}`;
    detail.appendChild(note);
  }
}

// the review view shows a task, then its channel preview
const showTaskWithoutPreview = showTask;
showTask = async (id) => { // eslint-disable-line no-global-assign
  await showTaskWithoutPreview(id);
  if ($("#review-detail").querySelector("button[data-decision]")) await showChannelPreview(id);
};

function enterChannels() {
  const view = $("#channels-view");
  if (!view.dataset.ready) {
    view.innerHTML = channelsMarkup;
    view.dataset.ready = "1";
    credentialInputs();
    $("#channel-platform").addEventListener("change", credentialInputs);
    $("#channel-filter").addEventListener("submit", (e) => { e.preventDefault(); loadAccounts(true); });
    $("#channel-more").addEventListener("click", () => loadAccounts(false));
    $("#channel-form").addEventListener("submit", registerAccount);
  }
  loadAccounts(true);
}

document.querySelectorAll('#tabs button[data-view="channels-view"]').forEach((b) =>
  b.addEventListener("click", enterChannels));
