import type { Command } from '../framework.js';

export const serveCommand: Command = {
  path: ['serve'],
  summary: 'Serve the dashboard on PORT (what `npm start` runs after building): migrate, seed the demo into an empty database, serve.',
  database: false,
  async run({ config }) {
    // Loaded when the command runs: the server's modules are most of the CLI's memory (see cli/main.ts).
    const { serve } = await import('../../server/serve.js');
    const server = await serve(config);
    await new Promise<void>((resolve) => {
      const shutdown = (signal: string) => {
        console.log(`${signal}: stopping the web server, then the database…`);
        server.stop().then(resolve, (error: Error) => {
          console.error(`shutdown: ${error.message}`);
          resolve();
        });
      };
      process.once('SIGINT', () => shutdown('SIGINT'));
      process.once('SIGTERM', () => shutdown('SIGTERM'));
    });
    console.log('Stopped.');
  },
};
