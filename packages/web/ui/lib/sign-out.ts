import { el } from './dom.js';

/** The top bar's way out of this browser's session. */
export interface SignOutControl {
  element: HTMLButtonElement;
  /** Shown only while someone is signed in. */
  set(signedIn: boolean): void;
}

/**
 * A "Sign out" button. `signOut` ends the session (today a guest session:
 * `DELETE /api/session`, which also leaves its rooms); when it fails the
 * button says so in its title and stays usable. Kept apart from the nickname
 * menu so that accounts can replace what signing out means in one place.
 */
export function createSignOut(signOut: () => Promise<void>): SignOutControl {
  const element = el('button', { type: 'button', class: 'sign-out secondary', hidden: true }, 'Sign out');
  element.addEventListener('click', () => {
    element.disabled = true;
    signOut().then(
      () => element.removeAttribute('title'),
      (error: unknown) => element.setAttribute('title', `Could not sign out: ${error instanceof Error ? error.message : String(error)}`),
    ).finally(() => {
      element.disabled = false;
    });
  });
  return {
    element,
    set(signedIn) {
      element.hidden = !signedIn;
    },
  };
}
