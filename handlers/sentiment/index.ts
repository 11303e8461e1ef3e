// sentiment: lexicon-based sentiment (English, French, German, Spanish) with the Hugging Face
// text-classification wire shape. Takes text/plain, or application/json `{"inputs": "text"}` /
// `{"inputs": ["t1", "t2"]}`, and answers `[{"label": "POSITIVE"|"NEGATIVE"|"NEUTRAL", "score": 0..1}]`,
// one entry per input. A text in a language the model cannot score is a 422 whose message starts with
// `unsupported_language` (detect.ts), never a guess. The lexicons and word lists come from the artifact
// (model.json + lexicon*.json), see lexicon-model.ts.
import { type Handler, type HandlerOutput, negotiateAccept } from '../handler.js'
import { loadSentimentModel, type SentimentModel } from './lexicon-model.js'
import { scoreSentiment } from './score.js'
import { readTextInputs, type TextInputs } from '../text-inputs.js'

/** One entry per input text; a single string is answered with a one-element list, as HF pipelines do. */
export type SentimentPrediction = Array<{ label: string; score: number }>

export const handler: Handler<SentimentModel, TextInputs, SentimentPrediction> = {
  modelFn(modelDir) {
    return loadSentimentModel(modelDir)
  },

  inputFn(body, contentType, ctx) {
    return readTextInputs(body, contentType, ctx.accept, 'text to analyse')
  },

  predictFn(input, model) {
    return input.texts.map((text) => {
      const { label, score } = scoreSentiment(text, model)
      return { label, score }
    })
  },

  outputFn(prediction, accept): HandlerOutput {
    const contentType = negotiateAccept(accept, ['application/json'], 'application/json')
    return { body: JSON.stringify(prediction), contentType }
  },
}
