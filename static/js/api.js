// The two HTTP calls the page needs before it has a socket: read an invite, join.

export class ApiError extends Error {
  constructor(code, message) {
    super(message);
    this.code = code;
  }
}

async function call(path, options = {}) {
  let response;
  try {
    response = await fetch(path, {
      ...options,
      headers: { Accept: "application/json", ...(options.headers ?? {}) },
    });
  } catch {
    throw new ApiError("network", "the server could not be reached");
  }
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const error = body?.error ?? {};
    throw new ApiError(error.code ?? "http_error", error.message ?? response.statusText);
  }
  return body;
}

/** {event: {id, name, languages}, role, booths: [{id, company}], sectors} */
export function getInvite(code) {
  return call(`/api/invites/${encodeURIComponent(code)}`);
}

/** {token, person} */
export function join(form) {
  return call("/api/join", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(form),
  });
}
