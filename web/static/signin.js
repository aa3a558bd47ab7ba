// careid sign-in pages: the WebAuthn ceremony and the smartcard identity
// agent. Everything else on the page is a plain form; these two fill hidden
// fields and submit their form.

const b64url = {
  encode(buffer) {
    let s = '';
    for (const b of new Uint8Array(buffer)) s += String.fromCharCode(b);
    return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  },
  decode(text) {
    const s = atob(text.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((text.length + 3) % 4));
    return Uint8Array.from(s, (c) => c.charCodeAt(0));
  },
};

function say(id, message) {
  const el = document.getElementById(id);
  if (el) el.textContent = message;
}

// PublicKeyCredential as JSON (the shape of PublicKeyCredential.toJSON()).
export function credentialJson(cred) {
  const r = cred.response;
  const response = { clientDataJSON: b64url.encode(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = b64url.encode(r.attestationObject);
    if (r.getTransports) response.transports = r.getTransports();
  } else {
    response.authenticatorData = b64url.encode(r.authenticatorData);
    response.signature = b64url.encode(r.signature);
    if (r.userHandle) response.userHandle = b64url.encode(r.userHandle);
  }
  return JSON.stringify({ id: cred.id, rawId: b64url.encode(cred.rawId), type: cred.type, response });
}

export function creationOptions(o) {
  return {
    ...o,
    challenge: b64url.decode(o.challenge),
    user: { ...o.user, id: b64url.decode(o.user.id) },
    excludeCredentials: (o.excludeCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })),
  };
}

function requestOptions(o) {
  return {
    ...o,
    challenge: b64url.decode(o.challenge),
    allowCredentials: (o.allowCredentials || []).map((c) => ({ ...c, id: b64url.decode(c.id) })),
  };
}

function webauthnError(e) {
  if (e && e.name === 'NotAllowedError')
    return 'The security key or Windows Hello did not sign in (it was cancelled, timed out, or has no credential for this site).';
  if (e && e.name === 'SecurityError') return 'This browser refused WebAuthn for this site address.';
  return 'The security key could not be used: ' + (e && e.message ? e.message : e);
}

const webauthnForm = document.getElementById('webauthn-form');
if (webauthnForm) {
  webauthnForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!window.PublicKeyCredential) {
      say('webauthn-status', 'This browser does not support security keys or Windows Hello.');
      return;
    }
    say('webauthn-status', '');
    try {
      const options = requestOptions(JSON.parse(webauthnForm.dataset.options));
      const cred = await navigator.credentials.get({ publicKey: options });
      webauthnForm.elements.credential.value = credentialJson(cred);
      webauthnForm.submit();
    } catch (e) {
      say('webauthn-status', webauthnError(e));
    }
  });
}

const cardForm = document.getElementById('smartcard-form');
if (cardForm) {
  cardForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const agent = cardForm.dataset.agent;
    say('smartcard-status', '');
    let answer;
    try {
      answer = await fetch(agent + '/sign', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({
          challenge: cardForm.elements.challenge.value,
          origin: cardForm.dataset.origin,
          issuer: cardForm.dataset.issuer,
        }),
      });
    } catch (e) {
      say('smartcard-status', `The identity agent is not running on this computer (nothing answers at ${agent}). Start it with "careid agent --card FILE", then try again.`);
      return;
    }
    const body = await answer.json().catch(() => ({}));
    if (answer.status === 409) {
      say('smartcard-status', 'Insert your smartcard, then try again.');
      return;
    }
    if (!answer.ok || !body.signature) {
      say('smartcard-status', 'The identity agent did not sign in: ' + (body.error_description || body.error || answer.status));
      return;
    }
    cardForm.elements.certificate.value = body.certificate;
    cardForm.elements.signature.value = body.signature;
    cardForm.elements.alg.value = body.alg || 'RS256';
    cardForm.elements.removal_token.value = body.removal_token || '';
    cardForm.submit();
  });
}
