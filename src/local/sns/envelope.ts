import { randomUUID, sign, type KeyObject } from 'node:crypto'
import { SNS_SIGNATURE_ALGORITHMS, snsStringToSign } from '../../services/sns-verify.js'

/** What SNS posts to an HTTP(S) subscriber (its JSON keys, as AWS sends them). */
export type SnsEnvelope = Record<string, string> & {
  Type: 'Notification' | 'SubscriptionConfirmation' | 'UnsubscribeConfirmation'
  MessageId: string
  TopicArn: string
  Message: string
  Timestamp: string
  SignatureVersion: '1' | '2'
  Signature: string
  SigningCertURL: string
}

export interface EnvelopeFields {
  Type: SnsEnvelope['Type']
  TopicArn: string
  Message: string
  Subject?: string
  /** Confirmations only. */
  SubscribeURL?: string
  Token?: string
  /** Notifications only. */
  UnsubscribeURL?: string
  /** One id for every subscriber's copy of a message, as SNS does; default a new UUID. */
  MessageId?: string
}

/**
 * A signed envelope, signed exactly as AWS documents it (the same string to sign the gateway's
 * verifier rebuilds): SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA.
 */
export function signEnvelope(
  fields: EnvelopeFields,
  key: { privateKey: KeyObject; certificateUrl: string },
  signatureVersion: '1' | '2',
  nowMs = Date.now(),
): SnsEnvelope {
  const unsigned: Record<string, string> = {
    Type: fields.Type,
    MessageId: fields.MessageId ?? randomUUID(),
    TopicArn: fields.TopicArn,
    ...(fields.Subject !== undefined ? { Subject: fields.Subject } : {}),
    Message: fields.Message,
    ...(fields.Token !== undefined ? { Token: fields.Token } : {}),
    ...(fields.SubscribeURL !== undefined ? { SubscribeURL: fields.SubscribeURL } : {}),
    Timestamp: new Date(nowMs).toISOString(),
    SignatureVersion: signatureVersion,
  }
  const signature = sign(SNS_SIGNATURE_ALGORITHMS[signatureVersion], Buffer.from(snsStringToSign(unsigned), 'utf8'), key.privateKey)
  return {
    ...unsigned,
    Signature: signature.toString('base64'),
    SigningCertURL: key.certificateUrl,
    ...(fields.UnsubscribeURL !== undefined ? { UnsubscribeURL: fields.UnsubscribeURL } : {}),
  } as SnsEnvelope
}
