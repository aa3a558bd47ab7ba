// Complete answers for the stages of a product's journey, and a stage submitted and approved
// through the API (the stages' own tests drive them through the pages).
import assert from 'node:assert/strict';

// 'Setup and eligibility' (see onboarding-stage.test.mjs)
export const SETUP = {
  product_details: {
    product_name: 'WardView', product_description: 'Bedside observations and handover for acute wards.',
    product_type: 'clinical', dtac_assessed: 'yes',
  },
  use_case: {
    confirm_guidance: true, confirm_dependencies: true, confirm_volumes: true, confirm_dates: true,
    use_case_description: 'Nurses sign in at the start of a shift and record observations for their ward.',
    user_roles: 'R8000 Clinical Practitioner Access Role', needs_selected_role: 'yes', assurance_level: 'AAL3',
    auths_per_day: 12000, auths_peak_hour: 3000, deployment_model: 'single_instance',
    conformance_start: '2026-09-01', conformance_answers: '2026-10-01', testing_start: '2026-11-02',
    conformance_achieved: '2027-01-15', go_live: '2027-03-01', last_site_live: '2027-09-01',
    rollout_plan: 'One ward first, then one hospital a month.',
  },
  eligibility: {
    organisation_type: 'supplier', health_care_purpose: 'yes', legal_basis: 'UK GDPR Article 6(1)(e) and Article 9(2)(h).',
    dspt_status: 'standards_met', ico_registration: 'ZA123456', confirm_connection_agreement: true,
  },
};

export const NFR = {
  information_security: {
    dspt_ods_code: '8JK22', dspt_status: 'standards_met', dspt_published: '2026-06-30', cyber_essentials: 'plus',
    pen_test_date: '2026-04-15', pen_test_by: 'Example Security Ltd (CREST)', pen_test_findings: 'none_open',
    hosting_location: 'uk', hosting_provider: 'A UK cloud provider, London and Manchester regions.',
    credential_protection: 'Client secrets and keys in a secrets manager, read only by the sign-in service; rotated every year.',
    dpia_completed: 'yes',
  },
  clinical_risk: {
    cso_name: 'Dr Sam Patel', cso_registration: 'GMC 1234567', cso_email: 'cso@supplier.example', dcb0129_compliant: 'yes',
    hazard_log_reviewed: '2026-05-01', safety_case_version: '2.1',
    authentication_hazards: 'A user working in the wrong role: the role is shown on every page and re-selected each shift.',
    dcb0160_support: 'yes',
  },
  service_management: {
    incident_process: 'itil', incident_description: 'Sign-ins are monitored; incidents are P1 to P4; customers are told by e-mail.',
    support_hours: 'always', major_incident_contact: 'Incident manager on call',
    major_incident_email: 'major-incidents@supplier.example', major_incident_phone: '0300 123 4567',
    availability_target: '99.9', outage_plan: 'Paper observation charts, then data entry once CIS2 Authentication is back.',
    confirm_change_notice: true, confirm_incident_reporting: true,
  },
  medical_device: {
    intended_purpose: 'Recording and displaying patients\' observations on acute wards.', device_class: 'not_a_device',
    device_reasoning: 'It records and displays observations; it calculates no score and makes no recommendation.',
    confirm_device_change: true,
  },
};

/**
 * A stage of the product submitted through the API with `answers` ({section: answers}) and
 * approved by the reviewer. `slug`: "setup" or "non-functional".
 */
export async function approvedStage(account, reviewer, product, slug, answers) {
  const base = `/api/v1/products/${product.id}/${slug}`;
  let r;
  for (const [section, a] of Object.entries(answers)) {
    r = await account.api.put(`${base}/${section}`, { answers: a });
    assert.equal(r.status, 200, r.body);
  }
  r = await account.api.post(`${base}/submit`);
  assert.equal(r.status, 200, r.body);
  const review = (await reviewer.get('/api/v1/reviews')).json.open.find((x) => x.kind === 'stage' && x.subject_id === r.json.stage.id);
  assert.ok(review, `the ${slug} stage is in the review queue`);
  r = await reviewer.post(`/api/v1/reviews/${review.id}/decision`, { decision: 'approve' });
  assert.equal(r.status, 200, r.body);
  assert.equal((await account.api.get(base)).json.state, 'approved');
}
