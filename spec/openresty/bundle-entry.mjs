// esbuild entry for the example page's bundle (make openresty-setup -> build/openresty-vendor/tanstack-ai-client.js)
export { ChatClient, fetchServerSentEvents, fetchHttpStream } from '@tanstack/ai-client';
