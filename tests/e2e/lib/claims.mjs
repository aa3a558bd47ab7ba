// Expected claims per CIS2 scope, and comparison with `careid user show`.
import assert from 'node:assert/strict';

/** Claims each scope adds to userinfo (CIS2-PROFILE.md; careid's contract). */
export const SCOPE_CLAIMS = {
  profile: ['name', 'family_name', 'given_name', 'uid'],
  email: ['email'],
  nhsperson: ['nhsid_useruid', 'title', 'idassurancelevel', 'initials', 'middle_names', 'display_name'],
  associatedorgs: ['nhsid_user_orgs'],
  nationalrbacaccess: ['nhsid_nrbac_roles'],
  selectedrole: ['selected_roleid'],
};
/** Claims that are omitted when the user has no value (same-named field of user show). */
const OPTIONAL_WHEN_EMPTY = { middle_names: true, title: true, email: true };
export const ALL_SCOPE_CLAIMS = Object.values(SCOPE_CLAIMS).flat();
export const ADDRESS_PHONE_CLAIMS = ['address', 'phone_number', 'phone_number_verified'];

/**
 * Assert userinfo has exactly the scope-driven claims for `scopes` (others of SCOPE_CLAIMS
 * absent). With `show` (careid user show), a claim may be omitted when the user has no value
 * for the same-named field (e.g. middle_names of a user without middle names).
 */
export function assertScopeClaims(ui, scopes, what, show) {
  const granted = new Set(scopes.flatMap((s) => SCOPE_CLAIMS[s] || []));
  const u = show ? showUser(show) : undefined;
  for (const c of granted) {
    if (u && c in OPTIONAL_WHEN_EMPTY && [undefined, null, ''].includes(u[c]) && ui[c] === undefined) continue;
    assert.ok(ui[c] !== undefined && ui[c] !== null, `${what}: claim ${c} expected for scopes "${scopes.join(' ')}": ${JSON.stringify(ui)}`);
  }
  for (const c of ALL_SCOPE_CLAIMS) {
    if (!granted.has(c)) assert.equal(ui[c], undefined, `${what}: claim ${c} must not be released without its scope (scopes "${scopes.join(' ')}"): ${JSON.stringify(ui)}`);
  }
  for (const c of ADDRESS_PHONE_CLAIMS) assert.equal(ui[c], undefined, `${what}: careid has no ${c} claim: ${JSON.stringify(ui)}`);
  assert.equal(typeof ui.sub, 'string', `${what}: sub always present`);
}

/** The user object of `careid user show` output ({user:{…}, roles} or {…, roles}). */
export function showUser(show) {
  return show.user && typeof show.user === 'object' ? show.user : show;
}

/** For each claim, when `user show` has a field of the same name, the values must match. */
export function assertMatchesUserShow(ui, show, claims, what) {
  const u = showUser(show);
  for (const c of claims) {
    if (u[c] !== undefined && ui[c] !== undefined) assert.deepEqual(ui[c], u[c], `${what}: claim ${c} should equal careid user show's ${c}`);
  }
}

/** The fields of an nhsid_nrbac_roles element (CIS2-PROFILE.md). */
export const ROLE_REQUIRED = ['person_orgid', 'person_roleid', 'org_code', 'role_code', 'role_name'];
export const ROLE_OPTIONAL = ['activities', 'activity_codes', 'workgroups', 'workgroups_codes', 'aow', 'aow_codes'];

/** nhsid_nrbac_roles must equal (as a set, field by field) the roles of `careid user show`. */
export function assertRolesMatch(uiRoles, showRoles, what) {
  assert.ok(Array.isArray(uiRoles), `${what}: nhsid_nrbac_roles must be an array: ${JSON.stringify(uiRoles)}`);
  const ids = (rs) => rs.map((r) => r.person_roleid).sort();
  assert.deepEqual(ids(uiRoles), ids(showRoles), `${what}: the person_roleids of nhsid_nrbac_roles vs careid user show`);
  for (const r of uiRoles) {
    const s = showRoles.find((x) => x.person_roleid === r.person_roleid);
    for (const k of ROLE_REQUIRED) {
      assert.equal(typeof r[k], 'string', `${what}: role ${r.person_roleid} field ${k} must be a string: ${JSON.stringify(r)}`);
      assert.equal(r[k], s[k], `${what}: role ${r.person_roleid} field ${k}`);
    }
    for (const k of ROLE_OPTIONAL) {
      if (s[k] !== undefined) assert.deepEqual(r[k], s[k], `${what}: role ${r.person_roleid} field ${k}`);
      if (r[k] !== undefined) assert.ok(Array.isArray(r[k]), `${what}: role ${r.person_roleid} field ${k} must be an array`);
    }
    for (const k of Object.keys(r)) {
      if (s[k] !== undefined) assert.deepEqual(r[k], s[k], `${what}: role ${r.person_roleid} field ${k}`);
    }
  }
}

/** The distinct organisations {org_code, org_name} of `user show` roles, sorted by code. */
export function orgsOf(showRoles) {
  const m = new Map();
  for (const r of showRoles) if (!m.has(r.org_code)) m.set(r.org_code, { org_code: r.org_code, org_name: r.org_name });
  return [...m.values()].sort((a, b) => a.org_code.localeCompare(b.org_code));
}
