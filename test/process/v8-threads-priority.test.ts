import t from 'tap'
import { tempDatabasePath } from '../helpers.js'
import { startServer } from '../fixtures/server-process.js'
import { threadNiceValues, threadsAtNice } from '../fixtures/threads.js'

t.test("the threads Node starts for V8 run at nice 10; the event loop's at the process's", async (t) => {
  const server = await startServer(t, tempDatabasePath(t))
  const pid = server.child.pid!
  const nice = threadNiceValues(pid)
  t.equal(nice.get(pid), 0, 'the event loop keeps its priority')
  t.ok(threadsAtNice(nice, 10) >= 4, `V8's worker threads are lowered (${threadsAtNice(nice, 10)} threads at nice 10)`)
  t.equal(threadsAtNice(nice, 19), 1, 'the click writer keeps its own nice value')
})

t.test('V8_THREADS_NICE=0 leaves them at the process priority', async (t) => {
  const server = await startServer(t, tempDatabasePath(t), { V8_THREADS_NICE: '0' })
  const nice = threadNiceValues(server.child.pid!)
  t.equal(threadsAtNice(nice, 10), 0)
  t.equal(threadsAtNice(nice, 0), nice.size - 1, 'every thread but the click writer at nice 0')
})

t.test('V8_THREADS_NICE out of range stops the start', async (t) => {
  await t.rejects(startServer(t, tempDatabasePath(t), { V8_THREADS_NICE: '20' }), /server exited with 1/)
})
