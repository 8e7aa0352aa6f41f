import { defineConfig } from 'vitepress'

const recipes = [
  ['Port a Keras fit_generator generator', '/recipes/keras-generator'],
  ['Port a keras.utils.Sequence', '/recipes/keras-sequence'],
  ['Classify a folder of images', '/recipes/image-folder'],
  ['Labels from a CSV', '/recipes/csv-labels'],
  ['Augmentation', '/recipes/augmentation'],
  ['Piping from a stream', '/recipes/streams'],
  ['Parallel decoding and worker threads', '/recipes/parallelism'],
  ['Validation, callbacks, early stopping', '/recipes/validation-callbacks'],
  ['Resuming an interrupted run', '/recipes/resume'],
  ['Skipping bad images', '/recipes/bad-images'],
  ['Using model.fitDataset', '/recipes/fit-dataset'],
  ['A training loop of your own', '/recipes/own-loop'],
  ['Tuning throughput', '/recipes/throughput'],
] as const

export default defineConfig({
  title: 'tfpipe',
  description: 'Lazy, streaming training data for TensorFlow.js in Node',
  cleanUrls: true,
  head: [['link', { rel: 'icon', href: 'data:,' }]], // no favicon file: browsers would ask for /favicon.ico and log a 404
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/getting-started' },
      { text: 'Recipes', link: '/recipes/keras-generator' },
      { text: 'API', link: '/api/' },
      { text: 'Performance', link: '/performance' },
    ],
    sidebar: [
      { text: 'Guide', items: [
        { text: 'Getting started', link: '/guide/getting-started' },
        { text: 'Concepts', link: '/guide/concepts' },
        { text: 'Coming from Keras', link: '/guide/keras' },
        { text: 'Installing the native backend', link: '/guide/native-backend' },
      ] },
      { text: 'Recipes', items: recipes.map(([text, link]) => ({ text, link })) },
      { text: 'Reference', items: [{ text: 'API', link: '/api/' }, { text: 'Performance', link: '/performance' }, { text: 'Performance record', link: '/performance-history' }] },
    ],
    search: { provider: 'local' },
  },
})
