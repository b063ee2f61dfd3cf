import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
export default defineConfig({ plugins: [react()], logLevel: 'warn', build: { chunkSizeWarningLimit: 10000 } });
