// Sign-in with a certificate: the user picks the certificate (PEM) and its PKCS#8 private
// key file. The key is read into WebCrypto in this tab and never sent anywhere.
import { useState } from 'preact/hooks';
import { html } from '../html.js';
import { t } from '../i18n.js';
import { ApiError } from '../api.js';
import { signIn, SignInError } from '../session.js';
import { navigate } from '../app.js';

const readFile = (input) => input.files?.[0]?.text() ?? Promise.resolve('');

export function SignIn({ params }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const submit = async (e) => {
    e.preventDefault();
    const form = e.currentTarget;
    setBusy(true);
    setError(null);
    try {
      const [cert, key] = await Promise.all([readFile(form.elements.certificate), readFile(form.elements.key)]);
      await signIn(cert, key);
      navigate(params.next || '/workspace');
    } catch (err) {
      if (err instanceof SignInError) setError(t(`signin.${err.code}`));
      else if (err instanceof ApiError) setError(`${t(`signin.refused`)}: ${err.message} (${err.code})`);
      else setError(err.message);
    } finally {
      setBusy(false);
    }
  };
  return html`<section class="narrow">
    <h1>${t('signin.title')}</h1>
    <p class="muted">${t('signin.intro')}</p>
    <form onSubmit=${submit} data-testid="signin">
      <div class="field"><label for="signin-cert">${t('signin.certificate')}</label>
        <input id="signin-cert" name="certificate" type="file" accept=".pem,.crt,.cer" required /></div>
      <div class="field"><label for="signin-key">${t('signin.key')}</label>
        <input id="signin-key" name="key" type="file" accept=".pem,.key" required />
        <p class="small muted">${t('signin.key_stays')}</p></div>
      <button type="submit" class="primary" disabled=${busy}>${busy ? t('loading') : t('signin.submit')}</button>
    </form>
    ${error ? html`<p class="notice error" role="alert" data-testid="signin-error">${error}</p>` : null}
  </section>`;
}
