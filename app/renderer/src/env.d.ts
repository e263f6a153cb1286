// Vite's `?url` imports: the URL of the file in the built bundle.
declare module '*?url' {
  const url: string
  export default url
}
