// Unsigned ("alg":"none") request objects for the request-object conformance modules.
export function unsignedRequestObject(claims) {
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'oauth-authz-req+jwt' })}.${enc(claims)}.`;
}
