// The read API under /api/v1 and the order intake; RFC 9457 problems become ApiProblem errors.

export const API = "/api/v1";

export class ApiProblem extends Error {
  constructor(status, problem) {
    super(problem.detail ? `${problem.title}: ${problem.detail}` : problem.title);
    this.status = status;
    this.problem = problem;
  }
}

async function parse(response) {
  const type = response.headers.get("content-type") || "";
  const body = type.includes("json") ? await response.json() : await response.text();
  if (response.ok) return body;
  const problem =
    body && typeof body === "object" && body.title
      ? body
      : { title: `HTTP ${response.status}`, detail: typeof body === "string" ? body.slice(0, 200) : "" };
  throw new ApiProblem(response.status, problem);
}

function url(path, params) {
  const target = new URL(API + path, window.location.origin);
  for (const [key, value] of Object.entries(params || {})) {
    if (value !== undefined && value !== null && value !== "") target.searchParams.set(key, String(value));
  }
  return target;
}

export async function get(path, params) {
  let response;
  try {
    response = await fetch(url(path, params), { headers: { accept: "application/json" } });
  } catch (failure) {
    throw new ApiProblem(0, { title: "API unreachable", detail: String(failure.message || failure) });
  }
  return parse(response);
}

/** GET that answers null for a 404 problem (an address or interval the index never saw). */
export async function getOrNull(path, params) {
  try {
    return await get(path, params);
  } catch (error) {
    if (error instanceof ApiProblem && error.status === 404) return null;
    throw error;
  }
}

/** Every item of a paged listing, following next_cursor (at most maxPages pages). */
export async function all(path, params = {}, maxPages = 20) {
  const items = [];
  let cursor;
  for (let n = 0; n < maxPages; n += 1) {
    const page = await get(path, { limit: 500, ...params, cursor });
    items.push(...page.items);
    if (!page.next_cursor) return { items, complete: true };
    cursor = page.next_cursor;
  }
  return { items, complete: false };
}

async function send(method, path, body) {
  let response;
  try {
    response = await fetch(url(path), {
      method,
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify(body),
    });
  } catch (failure) {
    throw new ApiProblem(0, { title: "API unreachable", detail: String(failure.message || failure) });
  }
  if (response.status === 204) return null;
  return parse(response);
}

export const post = (path, body) => send("POST", path, body);
export const del = (path, body) => send("DELETE", path, body);
