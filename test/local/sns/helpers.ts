import pino from 'pino'
import { signQueryPost } from '../../../src/local/sns/sign-request.js'
import { LOCAL_SNS_CERTIFICATE_PATH } from '../../../src/local/sns/local-sns.js'
import { createSnsVerifier } from '../../../src/services/sns-verify.js'

export const topicArn = (name: string) => `arn:aws:sns:us-east-1:123456789012:${name}`

/** A signed SNS Query API call; the status and the XML answer. */
export async function snsQuery(
  url: string,
  params: Record<string, string>,
  credentials: { accessKeyId: string; secretAccessKey: string },
  region = 'us-east-1',
): Promise<{ status: number; xml: string }> {
  const body = new URLSearchParams({ Version: '2010-03-31', ...params }).toString()
  const headers = signQueryPost({ url: `${url}/`, body, region, service: 'sns', credentials })
  const res = await fetch(`${url}/`, { method: 'POST', headers, body })
  return { status: res.status, xml: await res.text() }
}

export const xmlValue = (xml: string, name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1]

/** The gateway's verifier, trusting the local SNS's certificate as the stack's starter would. */
export const localVerifier = (runtimeUrl: string) =>
  createSnsVerifier({ logger: pino({ level: 'silent' }), trustedCertificateUrls: [`${runtimeUrl}${LOCAL_SNS_CERTIFICATE_PATH}`] })
