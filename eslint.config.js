import neostandard from 'neostandard'

export default [
  ...neostandard({ ts: true, ignores: ['**/dist/**', '**/.tap/**', '**/.data/**', '**/node_modules/**'] })
]
