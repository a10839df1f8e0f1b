import { ref } from 'vue';
import type { ResponseOf } from '../../src/http/console/contract.ts';
import { call } from './api/http.ts';

type Client = ResponseOf<'listClients'>['items'][number];

/** The clients, for filters: loaded once per page that needs them. */
export function useClientOptions() {
  const clients = ref<Client[]>([]);
  call('listClients')
    .then((page) => {
      clients.value = page.items;
    })
    .catch(() => {
      clients.value = [];
    });
  return clients;
}
