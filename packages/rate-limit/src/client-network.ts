// One definition for every plugin that keys by client, so that they all count a client alike.
export { clientAddress, clientNetwork } from '@muejam/problem'
