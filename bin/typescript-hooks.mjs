// Development only: lets this process import the repo's TypeScript (through tsx) with the `?raw` WGSL imports
// that Vite gives the browser (through raw-loader.mjs). The installed package runs dist-cli/ and never loads this.
import { register } from 'node:module';

export async function registerTypeScript() {
  const { register: registerTsx } = await import('tsx/esm/api');
  registerTsx();
  register('./raw-loader.mjs', import.meta.url);
}
