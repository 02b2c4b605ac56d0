// The reference for GET /video/:id: a bare Fastify route answering the same JSON from memory.
import Fastify from 'fastify';

const body = process.env.BODY ?? '{}';
const app = Fastify({ logger: false });
app.get('/video/:id', async (_request, reply) => reply.type('application/json').send(body));
const url = await app.listen({ host: '127.0.0.1', port: 0 });
process.stdout.write(`${url}\n`);
