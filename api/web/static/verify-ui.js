// The pages' side of verification: the verifier key the inspector keeps in this browser, and the
// "verify this case" button. The checking itself is in verify.js.

import { parseVerifierKey, verifyCase } from "./verify.js";

const STORAGE_KEY = "xinfang.verifierKey";

function storedKey() {
  return localStorage.getItem(STORAGE_KEY);
}

function mountKeyForms() {
  for (const box of document.querySelectorAll("[data-verifier-key]")) {
    const status = box.querySelector("[data-key-status]");
    const input = box.querySelector("textarea");
    const edit = box.querySelector("[data-key-edit]");
    const show = () => {
      const key = storedKey();
      edit.open = !key;
      status.textContent = key ? `本浏览器保存的验证公钥：${key}` : "尚未在本浏览器保存验证公钥。";
      const server = document.querySelector("[data-server-key]");
      if (key && server) {
        status.textContent += key === server.textContent.trim() ? "（与服务器公布的一致）" : "（与服务器公布的不一致！）";
      }
      document.dispatchEvent(new CustomEvent("verifier-key-changed"));
    };
    box.querySelector("[data-key-save]").addEventListener("click", async () => {
      try {
        const text = input.value.trim();
        await parseVerifierKey(text);
        localStorage.setItem(STORAGE_KEY, text);
        input.value = "";
        input.removeAttribute("aria-invalid");
        show();
      } catch (error) {
        input.setAttribute("aria-invalid", "true");
        status.textContent = `未保存：${error.message}`;
      }
    });
    box.querySelector("[data-key-forget]").addEventListener("click", () => {
      localStorage.removeItem(STORAGE_KEY);
      show();
    });
    show();
  }
}

async function fetchOk(url, kind) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: kind } });
  if (response.redirected || !response.ok) {
    throw new Error(response.redirected ? "登录已失效，请重新登录" : `服务器返回 ${response.status}`);
  }
  return response;
}

function mountCaseVerification() {
  const section = document.querySelector("#verify[data-case]");
  if (!section) return;
  const button = section.querySelector("#verify-button");
  const result = section.querySelector("#verify-result");
  const number = section.dataset.case;
  const enable = () => {
    button.disabled = !storedKey() || !window.crypto?.subtle;
    if (!window.crypto?.subtle) {
      result.dataset.outcome = "failed";
      result.textContent = "此浏览器在当前地址下不提供 WebCrypto：请通过 HTTPS 或本机地址访问。";
    }
  };
  document.addEventListener("verifier-key-changed", enable);
  enable();
  button.addEventListener("click", async () => {
    result.dataset.outcome = "working";
    result.textContent = "正在验证……";
    let outcome;
    try {
      const checkpointText = await (await fetchOk("/integrity/checkpoint", "text/plain")).text();
      const size = Number(checkpointText.split("\n")[1]);
      const proofUrl = `/cases/${encodeURIComponent(number)}/proof?size=${size}`;
      const proof = await (await fetchOk(proofUrl, "application/json")).json();
      outcome = await verifyCase({ checkpointText, verifierKey: storedKey(), proof });
    } catch (error) {
      outcome = { ok: false, code: "fetch", message: `无法取得检查点或证明：${error.message}`, event: null };
    }
    result.dataset.outcome = outcome.ok ? "ok" : "failed";
    result.dataset.code = outcome.ok ? "ok" : outcome.code;
    if (outcome.ok) {
      const shown = [...document.querySelectorAll("tr[data-seq]")].map((row) => Number(row.dataset.seq));
      const uncovered = shown.filter((seq) => !outcome.events.includes(seq)).length;
      result.textContent = `验证通过：本案 ${outcome.events.length} 个事件都在 ${outcome.checkpoint.origin} 的签名检查点`
        + `（树大小 ${outcome.checkpoint.size}）中，签名出自您保存的验证公钥，事件内容与叶子相符。`
        + (uncovered ? `另有 ${uncovered} 个事件晚于该检查点，未覆盖。` : "");
      return;
    }
    const event = outcome.event;
    if (!event) {
      result.textContent = `验证失败：${outcome.message}`;
      return;
    }
    const row = document.querySelector(`tr[data-seq="${event.seq}"]`);
    const name = row ? row.dataset.name : event.type;
    result.dataset.seq = event.seq;
    result.textContent = `验证失败：序号 ${event.seq}、版本 ${event.version} 的事件“${name}”——${outcome.message}`;
    row?.classList.add("failed");
  });
}

for (const notice of document.querySelectorAll("[data-needs-script]")) notice.remove();
mountKeyForms();
mountCaseVerification();
