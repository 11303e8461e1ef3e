// language-id: character n-gram language identification with the Hugging Face text-classification
// request shape. Takes text/plain, or application/json `{"inputs": "text"}` / `{"inputs": [...]}`,
// and answers the top languages `[{"language": "fr", "score": 0..1}, ...]` for a string, or one such
// list per input for a list. Languages and their profiles come from the artifact (profiles.json).
import { type Handler, type HandlerOutput, negotiateAccept } from '../handler.js'
import { readTextInputs, type TextInputs } from '../text-inputs.js'
import { identifyLanguage, type LanguageModel, type LanguageScore, loadLanguageModel } from './classify.js'

export interface LanguagePrediction {
  results: LanguageScore[][]
  isList: boolean
}

export const handler: Handler<LanguageModel, TextInputs, LanguagePrediction> = {
  modelFn(modelDir) {
    return loadLanguageModel(modelDir)
  },

  inputFn(body, contentType, ctx) {
    return readTextInputs(body, contentType, ctx.accept, 'text to identify')
  },

  predictFn(input, model) {
    return { results: input.texts.map((text) => identifyLanguage(text, model)), isList: input.isList }
  },

  outputFn(prediction, accept): HandlerOutput {
    const contentType = negotiateAccept(accept, ['application/json'], 'application/json')
    return { body: JSON.stringify(prediction.isList ? prediction.results : prediction.results[0]), contentType }
  },
}
