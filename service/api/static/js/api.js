// Talking to the server: JSON calls, uploads with progress, progress events, downloads, the token.

const TOKEN_KEY = 'nianbao.token';
let asking = null;

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function authHeaders() {
  const token = localStorage.getItem(TOKEN_KEY);
  return token ? {Authorization: `Bearer ${token}`} : {};
}

/** Ask for the token once, however many requests met a 401 at the same time. */
function askToken() {
  const wrong = localStorage.getItem(TOKEN_KEY) !== null;
  localStorage.removeItem(TOKEN_KEY);
  asking ??= promptToken(wrong).finally(() => { asking = null; });
  return asking;
}

function promptToken(wrong) {
  const dialog = document.getElementById('token-dialog');
  const input = dialog.querySelector('input');
  dialog.querySelector('.hint').textContent = wrong
    ? '令牌无效，请重新输入。'
    : '服务器要求访问令牌，请向管理员索取。令牌只保存在本浏览器中。';
  input.value = '';
  return new Promise((resolve, reject) => {
    dialog.addEventListener('close', () => {
      const token = input.value.trim();
      if (dialog.returnValue !== 'ok' || !token) return reject(new ApiError(401, '未提供访问令牌'));
      localStorage.setItem(TOKEN_KEY, token);
      resolve();
    }, {once: true});
    dialog.returnValue = '';
    dialog.showModal();
  });
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (typeof body.detail === 'string') return body.detail;
  } catch { /* not JSON */ }
  return `请求失败（HTTP ${response.status}）`;
}

/** fetch with the token; a 401 asks for the token and tries once more. */
async function authorisedFetch(path, options = {}, retry = true) {
  let response;
  try {
    response = await fetch(path, {...options, headers: {...options.headers, ...authHeaders()}});
  } catch {
    throw new ApiError(0, '无法连接服务器，请检查网络');
  }
  if (response.status === 401 && retry) {
    await askToken();
    return authorisedFetch(path, options, false);
  }
  if (!response.ok) throw new ApiError(response.status, await errorMessage(response));
  return response;
}

export async function api(path, method = 'GET', body = undefined) {
  const options = {method};
  if (body !== undefined) {
    options.headers = {'Content-Type': 'application/json'};
    options.body = JSON.stringify(body);
  }
  return (await authorisedFetch(path, options)).json();
}

/** POST files to /api/reports with upload progress (0..1); resolves to the new report ids. */
export function uploadFiles(files, onProgress, retry = true) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    for (const file of files) form.append('files', file, file.name);
    const xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/reports');
    for (const [name, value] of Object.entries(authHeaders())) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener('progress', (e) => e.lengthComputable && onProgress(e.loaded / e.total));
    xhr.addEventListener('error', () => reject(new ApiError(0, '网络错误，上传失败')));
    xhr.addEventListener('load', () => {
      if (xhr.status === 401 && retry) {
        askToken().then(() => uploadFiles(files, onProgress, false)).then(resolve, reject);
        return;
      }
      let body = {};
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body.ids);
      else reject(new ApiError(xhr.status, typeof body.detail === 'string' ? body.detail : `上传失败（HTTP ${xhr.status}）`));
    });
    xhr.send(form);
  });
}

const finished = (state) => state.status === 'done' || state.status === 'failed';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Follow a report's progress until done or failed: server-sent events read through fetch
 *  (so the token goes along), falling back to polling. Resolves to the last state. */
export async function follow(id, onState) {
  let last = null;
  try {
    const response = await authorisedFetch(`/api/reports/${encodeURIComponent(id)}/events`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
      const parts = (buffer + chunk.value).split('\n\n');
      buffer = parts.pop();
      for (const line of parts.flatMap((part) => part.split('\n'))) {
        if (line.startsWith('data:')) onState(last = JSON.parse(line.slice(5)));
      }
    }
  } catch (error) {
    if (error instanceof ApiError && error.status !== 0) throw error;
  }
  return last && finished(last) ? last : poll(id, onState);
}

async function poll(id, onState) {
  for (;;) {
    const report = await api(`/api/reports/${encodeURIComponent(id)}`);
    const state = {status: report.status, ...report.progress, error: report.error};
    onState(state);
    if (finished(state)) return state;
    await sleep(1000);
  }
}

/** Download through fetch (so the token goes along) and hand the file to the browser. */
export async function download(path, fallbackName) {
  const response = await authorisedFetch(path);
  const disposition = response.headers.get('content-disposition') || '';
  const match = disposition.match(/filename\*=UTF-8''([^;]+)/i);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? decodeURIComponent(match[1]) : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}
