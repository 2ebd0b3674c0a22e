// In-browser verification of one case: the browser's own SHA-256 and Ed25519 (WebCrypto), no library.
//
// Inputs: a signed checkpoint (C2SP tlog-checkpoint note), the verifier key the inspector keeps
// (`<name>+<hex key id>+<base64(0x01 ‖ Ed25519 public key)>`), and a whole-case proof.
// Checks: the note's signature by that key, the checkpoint naming the key's log, and for every event
// in order: its stored payload against the leaf's payload_sha256, the leaf against the event's
// position and version, the `prev` chain from leaf to leaf, and the RFC 9162 inclusion proof from
// H(0x00 ‖ leaf) to the checkpoint's root. The result names the first event that fails.

const ZERO_HASH = "0".repeat(64);
const SIGNATURE_PREFIX = "\u2014 ";
const ED25519 = 0x01;
const MAX_SIGNATURES = 100;

export class VerifyError extends Error {
  constructor(code, message, event = null) {
    super(message);
    this.code = code;
    this.event = event;
  }
}

const utf8 = new TextEncoder();

function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

function equal(a, b) {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(text) {
  if (typeof text !== "string" || text.length % 2 || /[^0-9a-f]/i.test(text)) {
    throw new VerifyError("malformed", `不是十六进制：${String(text).slice(0, 20)}`);
  }
  return Uint8Array.from(text.match(/../g) || [], (h) => parseInt(h, 16));
}

/** Strict standard base64 (alphabet, padding, canonical form), as the note format requires. */
export function fromBase64(text) {
  if (typeof text !== "string" || text.length % 4 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) {
    throw new VerifyError("malformed", "不是规范的 base64");
  }
  const raw = Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
  if (btoa(String.fromCharCode(...raw)) !== text) throw new VerifyError("malformed", "不是规范的 base64");
  return raw;
}

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

export function leafHash(leaf) {
  return sha256(concat(Uint8Array.of(0), leaf));
}

function nodeHash(left, right) {
  return sha256(concat(Uint8Array.of(1), left, right));
}

/** RFC 9162 §2.1.3.2: the root that `path` leads to from leaf `index` of a tree of `size` leaves. */
export async function rootFromInclusion(index, size, hash, path) {
  if (!(index >= 0 && index < size)) throw new VerifyError("inclusion", `序号 ${index} 不在大小为 ${size} 的树中`);
  if ([hash, ...path].some((h) => h.length !== 32)) throw new VerifyError("inclusion", "包含证明中有长度不是 32 字节的哈希");
  let fn = index;
  let sn = size - 1;
  let r = hash;
  for (const p of path) {
    if (sn === 0) throw new VerifyError("inclusion", "包含证明的哈希多于应有的数目");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn !== 0 && fn % 2 === 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new VerifyError("inclusion", "包含证明的哈希少于应有的数目");
  return r;
}

function validName(name) {
  return name.length > 0 && !name.includes("+") && !/\s/u.test(name);
}

/** `<name>+<hex key id>+<base64(0x01 ‖ key)>`, with the key id checked against the key. */
export async function parseVerifierKey(text) {
  const trimmed = String(text).trim();
  const first = trimmed.indexOf("+");
  const second = trimmed.indexOf("+", first + 1);
  if (first < 0 || second < 0) throw new VerifyError("key", "验证公钥格式应为 名称+密钥编号+公钥");
  const name = trimmed.slice(0, first);
  const idHex = trimmed.slice(first + 1, second);
  if (!validName(name)) throw new VerifyError("key", "验证公钥的名称无效");
  if (!/^[0-9a-f]{8}$/i.test(idHex)) throw new VerifyError("key", "验证公钥的密钥编号应为 8 位十六进制");
  let raw;
  try {
    raw = fromBase64(trimmed.slice(second + 1));
  } catch {
    throw new VerifyError("key", "验证公钥的公钥部分不是规范的 base64");
  }
  if (raw.length !== 33 || raw[0] !== ED25519) throw new VerifyError("key", "验证公钥不是 Ed25519 公钥");
  const publicKey = raw.slice(1);
  const expected = (await sha256(concat(utf8.encode(name), Uint8Array.of(0x0a, ED25519), publicKey))).slice(0, 4);
  if (toHex(expected) !== idHex.toLowerCase()) throw new VerifyError("key", "验证公钥的密钥编号与公钥不符");
  return { name, keyHash: expected, publicKey };
}

/** Check the note's signature by `key` (signatures by other keys are ignored) and parse the checkpoint. */
export async function openCheckpoint(noteText, key) {
  if (/[\x00-\x09\x0b-\x1f]/.test(noteText)) throw new VerifyError("checkpoint", "检查点含有控制字符");
  const split = noteText.lastIndexOf("\n\n");
  if (split < 0 || !noteText.endsWith("\n")) throw new VerifyError("checkpoint", "检查点不是签名注记格式");
  const body = noteText.slice(0, split + 1);
  const lines = noteText.slice(split + 2, -1).split("\n");
  if (lines.length > MAX_SIGNATURES) throw new VerifyError("checkpoint", "检查点的签名过多");
  const cryptoKey = await crypto.subtle.importKey("raw", key.publicKey, { name: "Ed25519" }, false, ["verify"]);
  let verified = false;
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) throw new VerifyError("checkpoint", "签名行格式错误");
    const rest = line.slice(SIGNATURE_PREFIX.length);
    const space = rest.indexOf(" ");
    const name = space < 0 ? rest : rest.slice(0, space);
    let signature;
    try {
      signature = fromBase64(space < 0 ? "" : rest.slice(space + 1));
    } catch {
      throw new VerifyError("checkpoint", "签名行格式错误");
    }
    if (!validName(name) || signature.length < 5) throw new VerifyError("checkpoint", "签名行格式错误");
    if (name !== key.name || !equal(signature.slice(0, 4), key.keyHash)) continue;
    const ok = await crypto.subtle.verify({ name: "Ed25519" }, cryptoKey, signature.slice(4), utf8.encode(body));
    if (!ok) throw new VerifyError("signature", "检查点的签名与您保存的验证公钥不符");
    verified = true;
  }
  if (!verified) throw new VerifyError("signature", "检查点没有您保存的验证公钥的签名");
  const [origin, sizeText, rootText, ...extra] = body.slice(0, -1).split("\n");
  if (extra.length || !/^(0|[1-9][0-9]*)$/.test(sizeText || "")) throw new VerifyError("checkpoint", "检查点内容格式错误");
  if (origin !== key.name) throw new VerifyError("checkpoint", `检查点来自 ${origin}，而验证公钥属于 ${key.name}`);
  const root = fromBase64(rootText);
  if (root.length !== 32) throw new VerifyError("checkpoint", "检查点的根哈希长度错误");
  return { origin, size: Number(sizeText), root };
}

/**
 * The one place that knows the proof's wire shape: the whole-case proof of `xinfang proof --case`,
 * `GET /api/cases/{n}/proof` and the page's own proof (`schemas/proofs.py`: hex `leaf`, hex `payload`,
 * `inclusion_path`, `root_hash`).
 */
export function parseCaseProof(json) {
  const events = (json.events || []).map((event) => ({
    seq: event.proof.leaf_index,
    leaf: fromHex(event.proof.leaf),
    payload: fromHex(event.payload),
    path: event.proof.inclusion_path.map(fromHex),
  }));
  return { case: json.case ?? null, treeSize: json.tree_size, root: fromHex(json.root_hash), events };
}

function describe(event, fields) {
  return { seq: event.seq, version: fields?.version ?? event.version, type: fields?.type ?? event.type };
}

/**
 * Verify a case. Returns `{ok: true, checkpoint, events}` or
 * `{ok: false, code, message, event: {seq, version, type} | null}` for the first failure.
 */
export async function verifyCase({ checkpointText, verifierKey, proof }) {
  try {
    const key = await parseVerifierKey(verifierKey);
    const checkpoint = await openCheckpoint(checkpointText, key);
    const parsed = parseCaseProof(proof);
    if (parsed.treeSize !== checkpoint.size) {
      throw new VerifyError("checkpoint", `证明针对大小 ${parsed.treeSize} 的树，检查点的树大小是 ${checkpoint.size}`);
    }
    if (!parsed.events.length) throw new VerifyError("empty", "证明中没有事件");
    let prev = ZERO_HASH;
    let aggregate = null;
    for (const [i, event] of parsed.events.entries()) {
      let fields;
      try {
        fields = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(event.leaf));
      } catch {
        throw new VerifyError("leaf_changed", "叶子不是有效的 JSON", describe(event));
      }
      const here = describe(event, fields);
      const fail = (code, message) => new VerifyError(code, message, here);
      if (fields.seq !== event.seq) throw fail("leaf_changed", `叶子记录的序号是 ${fields.seq}`);
      if (fields.version !== i + 1) throw fail("version_gap", `应为第 ${i + 1} 个版本，叶子记录的是第 ${fields.version} 个`);
      if (aggregate !== null && fields.aggregate_id !== aggregate) throw fail("leaf_changed", "叶子属于另一个案件");
      aggregate = fields.aggregate_id;
      if (toHex(await sha256(event.payload)) !== fields.payload_sha256) {
        throw fail("payload_changed", "事件内容与叶子中的哈希不符：内容被改动");
      }
      if (fields.prev !== prev) throw fail("prev_broken", "与本案上一个事件的链接断开");
      const hash = await leafHash(event.leaf);
      let root;
      try {
        root = await rootFromInclusion(event.seq, checkpoint.size, hash, event.path);
      } catch (error) {
        throw fail("inclusion", error.message);
      }
      if (!equal(root, checkpoint.root)) throw fail("inclusion", "包含证明不能连到检查点的根哈希");
      prev = toHex(hash);
    }
    return {
      ok: true,
      checkpoint: { origin: checkpoint.origin, size: checkpoint.size },
      events: parsed.events.map((e) => e.seq),
    };
  } catch (error) {
    if (!(error instanceof VerifyError)) {
      return { ok: false, code: "error", message: `无法验证：${error.message}`, event: null };
    }
    return { ok: false, code: error.code, message: error.message, event: error.event };
  }
}
