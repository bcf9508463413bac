/** Types for the `js-md4` package (it ships none): the part used here. */
declare module 'js-md4' {
  interface Md4 {
    arrayBuffer(message: string | ArrayBuffer | Uint8Array | readonly number[]): ArrayBuffer;
    hex(message: string | ArrayBuffer | Uint8Array | readonly number[]): string;
  }
  const md4: Md4;
  export default md4;
}
