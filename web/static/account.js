// careid account page: registering a security key, Windows Hello or a
// passkey (the WebAuthn creation ceremony); the rest of the page is forms.
import { credentialJson, creationOptions } from './signin.js';

const form = document.getElementById('add-key-form');
if (form) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const status = document.getElementById('add-key-status');
    status.textContent = '';
    if (!window.PublicKeyCredential) {
      status.textContent = 'This browser does not support security keys or Windows Hello.';
      return;
    }
    try {
      const options = JSON.parse(form.dataset.options);
      const cred = await navigator.credentials.create({ publicKey: creationOptions(options) });
      form.elements.challenge.value = options.challenge;
      form.elements.credential.value = credentialJson(cred);
      form.submit();
    } catch (e) {
      status.textContent = e && e.name === 'InvalidStateError'
        ? 'This security key is already registered to your account.'
        : 'The security key was not registered: ' + (e && e.message ? e.message : e);
    }
  });
}
