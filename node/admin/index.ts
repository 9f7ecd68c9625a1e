export { AdminRouter, type AdminHandler, type AdminRequest, type AdminResponse, type RouteMatch } from './router.js';
export { startAdminServer, handleAdmin, type AdminServer } from './admin-server.js';
export { mountCoreRoutes, type HealthSource, type StatsSource } from './core-routes.js';
