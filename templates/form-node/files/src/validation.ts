// Input checks for a submitted request. Everything from the browser is
// untrusted: check type, length and format, and keep only known fields.

export const CATEGORIES = ['travel', 'equipment', 'software', 'training', 'other'] as const;
export type Category = (typeof CATEGORIES)[number];

export const LIMITS = { titleMin: 3, titleMax: 120, detailsMax: 2000, amountMaxCents: 100_000_000, noteMax: 500 };

export interface SubmissionInput {
  title: string;
  /** A decimal with two places, e.g. "120.50" (exact: no floating point). */
  amount: string;
  category: Category;
  details: string;
}

export type Field = 'title' | 'amount' | 'category' | 'details';
export type ValidationResult =
  | { ok: true; value: SubmissionInput }
  | { ok: false; errors: Partial<Record<Field, string>>; values: Record<Field, string> };

const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

const text = (v: unknown): string => (typeof v === 'string' ? v : '');

export function validateSubmission(body: unknown): ValidationResult {
  const b = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const values: Record<Field, string> = {
    title: text(b.title).trim(),
    amount: (typeof b.amount === 'number' && Number.isFinite(b.amount) ? String(b.amount) : text(b.amount)).trim(),
    category: text(b.category).trim(),
    details: text(b.details).replace(/\r\n/g, '\n').trim(),
  };
  const errors: Partial<Record<Field, string>> = {};

  if (values.title.length < LIMITS.titleMin || values.title.length > LIMITS.titleMax) {
    errors.title = `Title must be ${LIMITS.titleMin} to ${LIMITS.titleMax} characters.`;
  } else if (CONTROL.test(values.title) || values.title.includes('\n')) {
    errors.title = 'Title must be a single line of plain text.';
  }

  let amountCents = 0;
  const m = /^(\d{1,9})(?:\.(\d{1,2}))?$/.exec(values.amount);
  if (!m) {
    errors.amount = 'Amount must be a number like 120 or 120.50.';
  } else {
    amountCents = Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0'));
    if (amountCents <= 0 || amountCents > LIMITS.amountMaxCents) {
      errors.amount = `Amount must be more than 0 and at most ${formatAmount(LIMITS.amountMaxCents)}.`;
    }
  }

  if (!(CATEGORIES as readonly string[]).includes(values.category)) {
    errors.category = `Category must be one of: ${CATEGORIES.join(', ')}.`;
  }

  if (values.details.length > LIMITS.detailsMax) {
    errors.details = `Details can be at most ${LIMITS.detailsMax} characters.`;
  } else if (CONTROL.test(values.details)) {
    errors.details = 'Details must be plain text.';
  }

  if (Object.keys(errors).length > 0) return { ok: false, errors, values };
  return {
    ok: true,
    value: { title: values.title, amount: formatAmount(amountCents).replace(/,/g, ''), category: values.category as Category, details: values.details },
  };
}

export function validateNote(v: unknown): string | null {
  const note = text(v).trim();
  return note.length <= LIMITS.noteMax && !CONTROL.test(note) ? note : null;
}

export function formatAmount(cents: number): string {
  return (cents / 100).toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
