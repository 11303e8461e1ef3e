import { validationError, type RuntimeError } from './errors.js'

/**
 * Smithy constraint checks reported the way AWS (Coral) services report them:
 * `1 validation error detected: Value 'x' at 'member' failed to satisfy constraint: Member must ...`,
 * several joined with "; " under "N validation errors detected". Members are named in lowerCamelCase;
 * sensitive members (CustomAttributes, Body) are reported without their value ("Value at 'body' ...",
 * as seen from the real service).
 */
export class ConstraintCollector {
  private readonly violations: string[] = []

  private add(member: string, value: string | null | undefined, sensitive: boolean, constraint: string): void {
    const shown = sensitive ? 'Value' : value === null || value === undefined ? 'Value null' : `Value '${value}'`
    this.violations.push(`${shown} at '${member}' failed to satisfy constraint: Member must ${constraint}`)
  }

  required(member: string, value: unknown): boolean {
    if (value !== undefined && value !== null) return true
    this.add(member, null, false, 'not be null')
    return false
  }

  /** Length in characters (Smithy @length on strings), or bytes for blobs. */
  length(member: string, value: string, min: number | undefined, max: number | undefined, sensitive = false, size = value.length): void {
    if (min !== undefined && size < min) this.add(member, value, sensitive, `have length greater than or equal to ${min}`)
    if (max !== undefined && size > max) this.add(member, value, sensitive, `have length less than or equal to ${max}`)
  }

  pattern(member: string, value: string, regex: RegExp, shown: string, sensitive = false): void {
    if (!regex.test(value)) this.add(member, value, sensitive, `satisfy regular expression pattern: ${shown}`)
  }

  /** Smithy @range on an integer header; a non-integer value cannot be deserialized at all. */
  integer(member: string, raw: string, min: number, max: number): number | undefined {
    if (!/^-?\d+$/.test(raw.trim())) {
      this.add(member, raw, false, 'be an integer')
      return undefined
    }
    const value = Number(raw)
    if (value < min) this.add(member, raw.trim(), false, `have value greater than or equal to ${min}`)
    else if (value > max) this.add(member, raw.trim(), false, `have value less than or equal to ${max}`)
    return value
  }

  /** Free-form violation (service-side checks that are not Smithy constraints). */
  custom(message: string): void {
    this.violations.push(message)
  }

  get count(): number {
    return this.violations.length
  }

  toError(): RuntimeError | undefined {
    const n = this.violations.length
    if (n === 0) return undefined
    return validationError(`${n} validation error${n === 1 ? '' : 's'} detected: ${this.violations.join('; ')}`)
  }
}
