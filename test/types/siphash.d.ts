/** The parts of jedisct1's `siphash` package (SipHash-2-4, pure JS, CommonJS) the service uses. */
declare module 'siphash' {
  const SipHash: {
    /** 53 bits of the 64-bit SipHash-2-4 of `message` under a 128-bit key given as four 32-bit words. */
    hash_uint(key: number[], message: string | Uint8Array): number
    /** The 64-bit SipHash-2-4 as 16 hex digits. */
    hash_hex(key: number[], message: string | Uint8Array): string
  }
  export default SipHash
}
