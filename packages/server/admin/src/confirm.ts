import { byTestId } from './dom.js';

const dialog = byTestId<HTMLDialogElement>('confirm-dialog');
const question = byTestId('confirm-text');
const detail = byTestId('confirm-detail');
const accept = byTestId<HTMLButtonElement>('confirm-accept');
const cancel = byTestId<HTMLButtonElement>('confirm-cancel');

/**
 * Asks the operator before an action that ends sessions, saying exactly what it will end; resolves
 * true only for the action's own button (Escape, Cancel: false). Focus starts on Cancel.
 */
export function confirmAction(text: string, more: string, actionLabel: string): Promise<boolean> {
  question.textContent = text;
  detail.textContent = more;
  accept.textContent = actionLabel;
  return new Promise((resolve) => {
    const settle = (answer: boolean) => {
      accept.removeEventListener('click', onAccept);
      cancel.removeEventListener('click', onCancel);
      dialog.removeEventListener('close', onClose);
      if (dialog.open) dialog.close();
      resolve(answer);
    };
    const onAccept = () => settle(true);
    const onCancel = () => settle(false);
    const onClose = () => settle(false);
    accept.addEventListener('click', onAccept);
    cancel.addEventListener('click', onCancel);
    dialog.addEventListener('close', onClose);
    dialog.showModal();
    cancel.focus();
  });
}
