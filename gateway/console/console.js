// 工作台: a thin client over the gateway's /api/v1; all rules live in the services.
"use strict";

const STATUS = { ingested: "已入库", in_review: "审核中", approved: "已通过", published: "已发布",
  rejected: "已驳回", returned: "已退回", quarantined: "已隔离" };
const SEVERITY = { block: "阻断", warn: "警告", info: "提示" };
const TASK_STATUS = { open: "待审", in_review: "审核中", approved: "已通过", rejected: "已驳回",
  returned: "已退回", superseded: "已被新版本取代" };
const CATEGORY = { personal_data: "个人信息", classification: "涉密标志", sensitive: "敏感词",
  political: "政治性表述", wording: "严重表述错误", typo: "错别字", advertising: "广告用语",
  gambling: "博彩信息", link: "链接", links: "链接", integrity: "文本完整性", accessibility: "无障碍",
  markup: "网页代码", hidden: "隐藏内容", date: "日期", dates: "日期", metadata: "要素完整性",
  completeness: "要素完整性" };
const $ = (selector) => document.querySelector(selector);
let token = sessionStorage.getItem("kitchen-token");
let libraryCursor = null;

function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;",
    '"': "&quot;", "'": "&#39;" })[c]);
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (token) headers.Authorization = `Bearer ${token}`;
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && token) { logout(); }
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (!response.ok) {
    const reasons = (body.errors || []).map((e) => `${e.field}: ${e.reason}`).join("；");
    throw new Error(`${body.title || response.status}：${reasons || body.detail || ""}`);
  }
  return body;
}

function showError(error) { $("#error").textContent = error ? String(error.message || error) : ""; }

function show(viewId) {
  document.querySelectorAll(".view").forEach((v) => { v.hidden = v.id !== viewId; });
  showError(null);
  if (viewId === "library-view") loadLibrary(true);
  if (viewId === "review-view") loadReviews();
  if (viewId === "submit-view") loadSites();
}

function logout() {
  token = null;
  sessionStorage.removeItem("kitchen-token");
  location.reload();
}

async function login(event) {
  event.preventDefault();
  try {
    const form = new FormData(event.target);
    const result = await api("/api/v1/auth/token", { method: "POST", body: new URLSearchParams(form) });
    token = result.access_token;
    sessionStorage.setItem("kitchen-token", token);
    await enter();
  } catch (error) { showError(error); }
}

async function enter() {
  const me = await api("/api/v1/auth/me");
  $("#who").textContent = `${me.name}（${me.roles.join("、")}）`;
  $("#login-view").hidden = true;
  $("#tabs").hidden = false;
  $("#logout").hidden = false;
  show(me.roles.includes("reviewer") ? "review-view" : "library-view");
}

async function loadLibrary(reset) {
  if (reset) { libraryCursor = null; $("#library-rows").innerHTML = ""; }
  const params = new URLSearchParams();
  for (const [key, value] of new FormData($("#library-filter"))) if (value) params.set(key, value);
  if (libraryCursor) params.set("cursor", libraryCursor);
  try {
    const page = await api(`/api/v1/contents?${params}`);
    for (const item of page.items) {
      const row = document.createElement("tr");
      row.innerHTML = `<td>${escapeHtml(item.title)}</td><td>${escapeHtml(item.kind)}</td>
        <td>${escapeHtml(item.site)}</td><td>${STATUS[item.status] || item.status}</td>
        <td>${new Date(item.updated_at).toLocaleString("zh-CN")}</td>`;
      row.onclick = () => showContent(item.id);
      $("#library-rows").appendChild(row);
    }
    libraryCursor = page.next_cursor;
    $("#library-more").hidden = !libraryCursor;
  } catch (error) { showError(error); }
}

async function showContent(id) {
  try {
    const item = await api(`/api/v1/contents/${id}`);
    const history = (item.history || []).map((h) =>
      `<li>${new Date(h.at).toLocaleString("zh-CN")} 第${h.version}版 ${STATUS[h.status] || h.status} ${escapeHtml(h.detail)}</li>`).join("");
    const deliveries = (item.deliveries || []).map((d) =>
      `<li>${escapeHtml(d.target)}：${escapeHtml(d.state)}</li>`).join("") || "<li>暂无</li>";
    const quarantine = item.quarantine ? `<p class="alert">已隔离：${escapeHtml(item.quarantine.reason)}
      （${(item.quarantine.spans || []).map((s) => `“${escapeHtml(s.text)}”`).join("、")}）</p>` : "";
    $("#content-detail").innerHTML = `<h3>${escapeHtml(item.title)}</h3>${quarantine}
      <p>${escapeHtml(item.publisher)} ${escapeHtml(item.doc_number || "")} · 第${item.version}版 ·
      ${STATUS[item.status] || item.status} · 内容指纹 <code>${item.content_hash.slice(0, 12)}</code></p>
      <div class="body-text">${escapeHtml(item.body_text)}</div>
      <h4>流转记录</h4><ul>${history}</ul><h4>分发情况</h4><ul>${deliveries}</ul>`;
  } catch (error) { showError(error); }
}

async function loadSites() {
  try {
    const sites = await api("/api/v1/sites");
    $("#site-select").innerHTML = sites.items.map((s) =>
      `<option value="${escapeHtml(s.slug)}">${escapeHtml(s.name)}</option>`).join("");
    await loadColumns();
  } catch (error) { showError(error); }
}

async function loadColumns() {
  const site = $("#site-select").value;
  const columns = await api(`/api/v1/sites/${encodeURIComponent(site)}/columns`);
  $("#column-boxes").innerHTML = "<legend>目标栏目</legend>" + columns.items.map((c) =>
    `<label><input type="checkbox" name="columns" value="${escapeHtml(c.slug)}"> ${escapeHtml(c.name)}</label>`).join("");
}

async function submitContent(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const body = Object.fromEntries([...form.entries()].filter(([k, v]) => k !== "columns" && v));
  body.columns = form.getAll("columns");
  // the form's times are Beijing time (datetime-local has no zone); the API wants the offset
  for (const key of ["publish_at", "expire_at"]) if (body[key]) body[key] = shanghaiMoment(body[key]);
  try {
    const result = await api("/api/v1/contents", { method: "POST", body: JSON.stringify(body),
      headers: { "Content-Type": "application/json" } });
    $("#submit-result").textContent = `已入库：编号 ${result.id}，第${result.version}版，状态 ${STATUS[result.status] || result.status}`;
    event.target.reset();
  } catch (error) { showError(error); }
}

function shanghaiMoment(local) {
  return `${local.length === 16 ? `${local}:00` : local}+08:00`;
}

async function loadReviews() {
  try {
    const page = await api("/api/v1/reviews");
    $("#review-rows").innerHTML = "";
    for (const task of page.items) {
      const row = document.createElement("tr");
      const blocking = (task.findings || []).filter((f) => f.severity === "block").length;
      row.innerHTML = `<td>${escapeHtml(task.title || task.content_id)}</td><td>${escapeHtml(task.stage)}</td>
        <td>${blocking ? `阻断 ${blocking} 项` : (task.findings || []).length + " 项"}</td><td>${TASK_STATUS[task.status] || escapeHtml(task.status)}</td>`;
      row.onclick = () => showTask(task.id);
      $("#review-rows").appendChild(row);
    }
    if (!page.items.length) $("#review-rows").innerHTML = "<tr><td colspan=4>队列为空</td></tr>";
  } catch (error) { showError(error); }
}

function highlight(text, findings) {
  const spans = [...findings].sort((a, b) => a.start - b.start);
  let html = "", at = 0;
  for (const f of spans) {
    if (f.start < at) continue;
    html += escapeHtml(text.slice(at, f.start));
    html += `<mark class="${f.severity}" title="${escapeHtml(f.rule)}">${escapeHtml(text.slice(f.start, f.end))}</mark>`;
    at = f.end;
  }
  return html + escapeHtml(text.slice(at));
}

async function showTask(id) {
  try {
    const task = await api(`/api/v1/reviews/${id}`);
    const findings = task.findings || [];
    const list = findings.map((f) => `<li><b>${SEVERITY[f.severity] || f.severity}</b>
      ${CATEGORY[f.category] || escapeHtml(f.category)}：“${escapeHtml(f.text)}”${f.suggestion ? ` → ${escapeHtml(f.suggestion)}` : ""}</li>`).join("");
    $("#review-detail").innerHTML = `<h3>${escapeHtml(task.title || "")}</h3>
      <p>环节：${escapeHtml(task.stage)} · 第${task.version}版</p>
      <div class="body-text">${highlight(task.body_text || "", findings)}</div>
      <h4>机审发现</h4><ul class="findings">${list || "<li>无</li>"}</ul>
      <label>意见 <textarea id="decision-comment" rows="3"></textarea></label>
      ${findings.some((f) => f.severity === "block") ? `<label>越过阻断项的书面理由（仅限有权限的审核人）
        <textarea id="override-reason" rows="2"></textarea></label>` : ""}
      <button data-decision="approve">通过</button> <button data-decision="return">退回修改</button>
      <button data-decision="reject">驳回</button>`;
    $("#review-detail").querySelectorAll("button[data-decision]").forEach((button) => {
      button.onclick = () => decide(id, button.dataset.decision);
    });
  } catch (error) { showError(error); }
}

async function decide(id, decision) {
  try {
    await api(`/api/v1/reviews/${id}/decisions`, { method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ decision, comment: $("#decision-comment").value,
        ...($("#override-reason")?.value ? { override_reason: $("#override-reason").value } : {}) }) });
    $("#review-detail").innerHTML = "<p>已提交。</p>";
    await loadReviews();
  } catch (error) { showError(error); }
}

$("#login-form").addEventListener("submit", login);
$("#logout").addEventListener("click", logout);
$("#submit-form").addEventListener("submit", submitContent);
$("#site-select").addEventListener("change", () => loadColumns().catch(showError));
$("#library-filter").addEventListener("submit", (e) => { e.preventDefault(); loadLibrary(true); });
$("#library-more").addEventListener("click", () => loadLibrary(false));
document.querySelectorAll("#tabs button").forEach((b) => b.addEventListener("click", () => show(b.dataset.view)));
if (token) enter().catch(() => logout());
