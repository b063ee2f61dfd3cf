// The page a site would embed EmbeddedChat on. The server's address comes
// from the query string (`?host=http://127.0.0.1:3000`), so the page can be
// served from another origin than the server, as on a real site.
import React from 'react';
import { createRoot } from 'react-dom/client';
import { EmbeddedChat } from '@embeddedchat/react';

const params = new URLSearchParams(window.location.search);
const host = params.get('host') || 'http://127.0.0.1:3000';
createRoot(document.getElementById('root')).render(
  <EmbeddedChat
    host={host}
    roomId={params.get('roomId') || 'GENERAL'}
    channelName={params.get('channel') || 'general'}
    enableThreads
    auth={{ flow: 'PASSWORD' }}
    height="95vh"
  />
);
