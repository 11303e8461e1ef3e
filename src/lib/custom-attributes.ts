/**
 * SageMaker's CustomAttributes: at most 1024 characters of printable ASCII (`\p{ASCII}*` in the
 * service model; the runtime rejects control characters in headers). Returns an error message or
 * undefined when valid.
 */
export function checkCustomAttributes(value: string): string | undefined {
  if (value.length > 1024) return 'Custom attributes are limited to 1024 characters.'
  if (!/^[\x20-\x7e]*$/.test(value)) return 'Custom attributes must be printable ASCII.'
  return undefined
}
