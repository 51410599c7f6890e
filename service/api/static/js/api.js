// Talking to the server: JSON calls, uploads with progress, downloads, images, the token.

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

function request(method, body) {
  return body === undefined ? {method}
    : {method, headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)};
}

export async function api(path, method = 'GET', body = undefined) {
  const response = await authorisedFetch(path, request(method, body));
  return response.status === 204 ? null : response.json();
}

/** An image the token guards, as an object URL for an <img>. */
export async function imageUrl(path) {
  return URL.createObjectURL(await (await authorisedFetch(path)).blob());
}

/** POST files to /api/reports with upload progress (0..1); resolves to {ids, files}: what became of each file. */
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
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, typeof body.detail === 'string' ? body.detail : `上传失败（HTTP ${xhr.status}）`));
    });
    xhr.send(form);
  });
}

/** Download through fetch (so the token goes along) and hand the file to the browser; a body makes it a POST. */
export async function download(path, fallbackName, body = undefined) {
  const response = await authorisedFetch(path, request(body === undefined ? 'GET' : 'POST', body));
  const disposition = response.headers.get('content-disposition') || '';
  const match = disposition.match(/filename\*=UTF-8''([^;]+)/i) ?? disposition.match(/filename="?([^";]+)/i);
  const link = document.createElement('a');
  link.href = URL.createObjectURL(await response.blob());
  link.download = match ? decodeURIComponent(match[1]) : fallbackName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
}
